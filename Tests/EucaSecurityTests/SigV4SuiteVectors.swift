// Generated from AWS's published Signature Version 4 test suite; do not edit by hand.
//
// Edition 2015 ("aws-sig-v4-test-suite"): access key AKIDEXAMPLE,
//   secret wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY, region us-east-1, service "service",
//   time 20150830T123600Z (X-Amz-Date header; Unix 1_440_938_160), host example.amazonaws.com.
//   Source: github.com/boto/botocore @ 0e6e2404b85dc336dd2889814e089bde7d1a4c55, tests/unit/auth/aws4_testsuite/<name>/<leaf>.{req,creq,sts,authz}
//   (files kept byte for byte; all use "\n" line endings). Compared with AWS's original zip (copy in
//   github.com/mhart/aws4 test/aws-sig-v4-test-suite/), botocore's copy rewrites get-header-value-multiline
//   and adds get-vanilla-query-order-encoded, get-vanilla-with-session-token and
//   normalize-path/get-special-character; everything else is identical. All 34 vectors are included.
//
// Edition 2011 ("aws4_testsuite"): access key AKIDEXAMPLE,
//   secret wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY, region us-east-1, service "host",
//   time 20110909T233600Z given ONLY as `Date:Mon, 09 Sep 2011 23:36:00 GMT` (no X-Amz-Date; the
//   canonical request signs `date`), host host.foo.com, request lines end in lower-case `http/1.1`,
//   no X-Amz-Content-Sha256. Source: github.com/boto/botocore @ 2db2e74fa (2013, "Add sigv4 test suite"),
//   tests/unit/auth/aws4_testsuite/<name>.{req,creq,sts,authz} (flat). The files there use CRLF line endings;
//   they are given here with "\n" (CRLF -> LF, nothing else changed; after that they equal the copy in
//   mhart/aws4 @ ef4908c test/fixtures/). The .req files end with the blank line that ends the headers
//   (i.e. "\n\n") unless a body follows. 28 vectors included. Left out:
//   - get-header-value-multiline: the suite ships only its .req (no .creq/.sts/.authz to compare with).
//   - post-vanilla-query-nonunreserved: request-target holds raw spaces, `#`, `"`, `\`, `{}` etc. (`/?@#$%^&+=/,?><`";:\|][{} =@#$%^&+=/,?><`";:\|][{} ` + two spaces); the published canonical query again only follows from splitting at spaces.
//   - post-vanilla-query-space: request line `POST /?f oo=b ar http/1.1` has raw spaces in the request-target; the published canonical query `f=` only follows from splitting the line at every space, which no HTTP/1.1 request can express.
//
// 2015 vectors left out: none (every request is a request line + headers + optional body; see the
// notes on get-space, get-header-value-multiline and get-vanilla-with-session-token).

/// AWS's published Signature Version 4 test suite (edition, source repository and path noted per
/// vector), as data: each vector's raw request and the canonical request, string to sign and
/// Authorization header AWS publishes for it.
enum SigV4Suite {
    struct Vector: Sendable, CustomStringConvertible {
        var name: String          // folder path, e.g. "get-vanilla" or "normalize-path/get-relative"
        var edition: Int          // 2015 or 2011
        var request: String       // the .req file exactly
        var canonicalRequest: String   // .creq
        var stringToSign: String       // .sts
        var authorization: String      // .authz
        var description: String { "\(edition)/\(name)" }
    }

    static let vectors: [Vector] = [
        // MARK: 2015 edition
        // 2015 · boto/botocore tests/unit/auth/aws4_testsuite/get-header-key-duplicate/get-header-key-duplicate.*
        Vector(
            name: "get-header-key-duplicate",
            edition: 2015,
            request: #"""
GET / HTTP/1.1
Host:example.amazonaws.com
My-Header1:value2
My-Header1:value2
My-Header1:value1
X-Amz-Date:20150830T123600Z
"""#,
            canonicalRequest: #"""
GET
/

host:example.amazonaws.com
my-header1:value2,value2,value1
x-amz-date:20150830T123600Z

host;my-header1;x-amz-date
e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
"""#,
            stringToSign: #"""
AWS4-HMAC-SHA256
20150830T123600Z
20150830/us-east-1/service/aws4_request
dc7f04a3abfde8d472b0ab1a418b741b7c67174dad1551b4117b15527fbe966c
"""#,
            authorization: #"""
AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;my-header1;x-amz-date, Signature=c9d5ea9f3f72853aea855b47ea873832890dbdd183b4468f858259531a5138ea
"""#
        ),
        // 2015 · boto/botocore tests/unit/auth/aws4_testsuite/get-header-value-multiline/get-header-value-multiline.*
        // Folded (obs-fold) header value. botocore's copy expects `my-header1:value1 value2 value3`; AWS's
        // original zip (also in mhart/aws4 test/aws-sig-v4-test-suite/) had `value1,value2,value3`,
        // string-to-sign hash b7b6cbfd…ee55, Signature=ba17b383a53190154eb5fa66a1b836cc297cc0a3d70a5d00705980573d8ff790.
        Vector(
            name: "get-header-value-multiline",
            edition: 2015,
            request: #"""
GET / HTTP/1.1
Host:example.amazonaws.com
My-Header1:value1
  value2
     value3
X-Amz-Date:20150830T123600Z
"""#,
            canonicalRequest: #"""
GET
/

host:example.amazonaws.com
my-header1:value1 value2 value3
x-amz-date:20150830T123600Z

host;my-header1;x-amz-date
e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
"""#,
            stringToSign: #"""
AWS4-HMAC-SHA256
20150830T123600Z
20150830/us-east-1/service/aws4_request
e99419459a677bc11de234014be3c4e72c1ea5b454ceb58b613061f5d7a162e8
"""#,
            authorization: #"""
AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;my-header1;x-amz-date, Signature=cfd34249e4b1c8d6b91ef74165d41a32e5fab3306300901bb65a51a73575eefd
"""#
        ),
        // 2015 · boto/botocore tests/unit/auth/aws4_testsuite/get-header-value-order/get-header-value-order.*
        Vector(
            name: "get-header-value-order",
            edition: 2015,
            request: #"""
GET / HTTP/1.1
Host:example.amazonaws.com
My-Header1:value4
My-Header1:value1
My-Header1:value3
My-Header1:value2
X-Amz-Date:20150830T123600Z
"""#,
            canonicalRequest: #"""
GET
/

host:example.amazonaws.com
my-header1:value4,value1,value3,value2
x-amz-date:20150830T123600Z

host;my-header1;x-amz-date
e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
"""#,
            stringToSign: #"""
AWS4-HMAC-SHA256
20150830T123600Z
20150830/us-east-1/service/aws4_request
31ce73cd3f3d9f66977ad3dd957dc47af14df92fcd8509f59b349e9137c58b86
"""#,
            authorization: #"""
AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;my-header1;x-amz-date, Signature=08c7e5a9acfcfeb3ab6b2185e75ce8b1deb5e634ec47601a50643f830c755c01
"""#
        ),
        // 2015 · boto/botocore tests/unit/auth/aws4_testsuite/get-header-value-trim/get-header-value-trim.*
        Vector(
            name: "get-header-value-trim",
            edition: 2015,
            request: #"""
GET / HTTP/1.1
Host:example.amazonaws.com
My-Header1: value1
My-Header2: "a   b   c"
X-Amz-Date:20150830T123600Z
"""#,
            canonicalRequest: #"""
GET
/

host:example.amazonaws.com
my-header1:value1
my-header2:"a b c"
x-amz-date:20150830T123600Z

host;my-header1;my-header2;x-amz-date
e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
"""#,
            stringToSign: #"""
AWS4-HMAC-SHA256
20150830T123600Z
20150830/us-east-1/service/aws4_request
a726db9b0df21c14f559d0a978e563112acb1b9e05476f0a6a1c7d68f28605c7
"""#,
            authorization: #"""
AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;my-header1;my-header2;x-amz-date, Signature=acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736
"""#
        ),
        // 2015 · boto/botocore tests/unit/auth/aws4_testsuite/get-unreserved/get-unreserved.*
        Vector(
            name: "get-unreserved",
            edition: 2015,
            request: #"""
GET /-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz HTTP/1.1
Host:example.amazonaws.com
X-Amz-Date:20150830T123600Z
"""#,
            canonicalRequest: #"""
GET
/-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz

host:example.amazonaws.com
x-amz-date:20150830T123600Z

host;x-amz-date
e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
"""#,
            stringToSign: #"""
AWS4-HMAC-SHA256
20150830T123600Z
20150830/us-east-1/service/aws4_request
6a968768eefaa713e2a6b16b589a8ea192661f098f37349f4e2c0082757446f9
"""#,
            authorization: #"""
AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=07ef7494c76fa4850883e2b006601f940f8a34d404d0cfa977f52a65bbf5f24f
"""#
        ),
        // 2015 · boto/botocore tests/unit/auth/aws4_testsuite/get-utf8/get-utf8.*
        // Raw UTF-8 (U+1234 ሴ) in the request-target; expected path `/%E1%88%B4`.
        Vector(
            name: "get-utf8",
            edition: 2015,
            request: #"""
GET /ሴ HTTP/1.1
Host:example.amazonaws.com
X-Amz-Date:20150830T123600Z
"""#,
            canonicalRequest: #"""
GET
/%E1%88%B4

host:example.amazonaws.com
x-amz-date:20150830T123600Z

host;x-amz-date
e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
"""#,
            stringToSign: #"""
AWS4-HMAC-SHA256
20150830T123600Z
20150830/us-east-1/service/aws4_request
2a0a97d02205e45ce2e994789806b19270cfbbb0921b278ccf58f5249ac42102
"""#,
            authorization: #"""
AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85
"""#
        ),
        // 2015 · boto/botocore tests/unit/auth/aws4_testsuite/get-vanilla/get-vanilla.*
        Vector(
            name: "get-vanilla",
            edition: 2015,
            request: #"""
GET / HTTP/1.1
Host:example.amazonaws.com
X-Amz-Date:20150830T123600Z
"""#,
            canonicalRequest: #"""
GET
/

host:example.amazonaws.com
x-amz-date:20150830T123600Z

host;x-amz-date
e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
"""#,
            stringToSign: #"""
AWS4-HMAC-SHA256
20150830T123600Z
20150830/us-east-1/service/aws4_request
bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63
"""#,
            authorization: #"""
AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31
"""#
        ),
        // 2015 · boto/botocore tests/unit/auth/aws4_testsuite/get-vanilla-empty-query-key/get-vanilla-empty-query-key.*
        // Despite its name, the request is `GET /?Param1=value1`.
        Vector(
            name: "get-vanilla-empty-query-key",
            edition: 2015,
            request: #"""
GET /?Param1=value1 HTTP/1.1
Host:example.amazonaws.com
X-Amz-Date:20150830T123600Z
"""#,
            canonicalRequest: #"""
GET
/
Param1=value1
host:example.amazonaws.com
x-amz-date:20150830T123600Z

host;x-amz-date
e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
"""#,
            stringToSign: #"""
AWS4-HMAC-SHA256
20150830T123600Z
20150830/us-east-1/service/aws4_request
1e24db194ed7d0eec2de28d7369675a243488e08526e8c1c73571282f7c517ab
"""#,
            authorization: #"""
AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=a67d582fa61cc504c4bae71f336f98b97f1ea3c7a6bfe1b6e45aec72011b9aeb
"""#
        ),
        // 2015 · boto/botocore tests/unit/auth/aws4_testsuite/get-vanilla-query/get-vanilla-query.*
        // Despite its name, the request has no query (identical to get-vanilla).
        Vector(
            name: "get-vanilla-query",
            edition: 2015,
            request: #"""
GET / HTTP/1.1
Host:example.amazonaws.com
X-Amz-Date:20150830T123600Z
"""#,
            canonicalRequest: #"""
GET
/

host:example.amazonaws.com
x-amz-date:20150830T123600Z

host;x-amz-date
e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
"""#,
            stringToSign: #"""
AWS4-HMAC-SHA256
20150830T123600Z
20150830/us-east-1/service/aws4_request
bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63
"""#,
            authorization: #"""
AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31
"""#
        ),
        // 2015 · boto/botocore tests/unit/auth/aws4_testsuite/get-vanilla-query-order-encoded/get-vanilla-query-order-encoded.*
        // Added by botocore commit 826e7dab3 (2020); not in AWS's original zip. File ends with a newline.
        Vector(
            name: "get-vanilla-query-order-encoded",
            edition: 2015,
            request: #"""
GET /?Param-3=Value3&Param=Value2&%E1%88%B4=Value1 HTTP/1.1
Host:example.amazonaws.com
X-Amz-Date:20150830T123600Z

"""#,
            canonicalRequest: #"""
GET
/
%E1%88%B4=Value1&Param=Value2&Param-3=Value3
host:example.amazonaws.com
x-amz-date:20150830T123600Z

host;x-amz-date
e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
"""#,
            stringToSign: #"""
AWS4-HMAC-SHA256
20150830T123600Z
20150830/us-east-1/service/aws4_request
868294f5c38bd141c4972a373a76654f1418a8e4fc18b2e7903ae45e8ae0ec71
"""#,
            authorization: #"""
AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=371d3713e185cc334048618a97f809c9ffe339c62934c032af5a0e595648fcac
"""#
        ),
        // 2015 · boto/botocore tests/unit/auth/aws4_testsuite/get-vanilla-query-order-key/get-vanilla-query-order-key.*
        Vector(
            name: "get-vanilla-query-order-key",
            edition: 2015,
            request: #"""
GET /?Param1=value2&Param1=Value1 HTTP/1.1
Host:example.amazonaws.com
X-Amz-Date:20150830T123600Z
"""#,
            canonicalRequest: #"""
GET
/
Param1=Value1&Param1=value2
host:example.amazonaws.com
x-amz-date:20150830T123600Z

host;x-amz-date
e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
"""#,
            stringToSign: #"""
AWS4-HMAC-SHA256
20150830T123600Z
20150830/us-east-1/service/aws4_request
704b4cef673542d84cdff252633f065e8daeba5f168b77116f8b1bcaf3d38f89
"""#,
            authorization: #"""
AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=eedbc4e291e521cf13422ffca22be7d2eb8146eecf653089df300a15b2382bd1
"""#
        ),
        // 2015 · boto/botocore tests/unit/auth/aws4_testsuite/get-vanilla-query-order-key-case/get-vanilla-query-order-key-case.*
        Vector(
            name: "get-vanilla-query-order-key-case",
            edition: 2015,
            request: #"""
GET /?Param2=value2&Param1=value1 HTTP/1.1
Host:example.amazonaws.com
X-Amz-Date:20150830T123600Z
"""#,
            canonicalRequest: #"""
GET
/
Param1=value1&Param2=value2
host:example.amazonaws.com
x-amz-date:20150830T123600Z

host;x-amz-date
e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
"""#,
            stringToSign: #"""
AWS4-HMAC-SHA256
20150830T123600Z
20150830/us-east-1/service/aws4_request
816cd5b414d056048ba4f7c5386d6e0533120fb1fcfa93762cf0fc39e2cf19e0
"""#,
            authorization: #"""
AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500
"""#
        ),
        // 2015 · boto/botocore tests/unit/auth/aws4_testsuite/get-vanilla-query-order-value/get-vanilla-query-order-value.*
        Vector(
            name: "get-vanilla-query-order-value",
            edition: 2015,
            request: #"""
GET /?Param1=value2&Param1=value1 HTTP/1.1
Host:example.amazonaws.com
X-Amz-Date:20150830T123600Z
"""#,
            canonicalRequest: #"""
GET
/
Param1=value1&Param1=value2
host:example.amazonaws.com
x-amz-date:20150830T123600Z

host;x-amz-date
e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
"""#,
            stringToSign: #"""
AWS4-HMAC-SHA256
20150830T123600Z
20150830/us-east-1/service/aws4_request
c968629d70850097a2d8781c9bf7edcb988b04cac14cca9be4acc3595f884606
"""#,
            authorization: #"""
AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5772eed61e12b33fae39ee5e7012498b51d56abc0abb7c60486157bd471c4694
"""#
        ),
        // 2015 · boto/botocore tests/unit/auth/aws4_testsuite/get-vanilla-query-unreserved/get-vanilla-query-unreserved.*
        Vector(
            name: "get-vanilla-query-unreserved",
            edition: 2015,
            request: #"""
GET /?-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz=-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz HTTP/1.1
Host:example.amazonaws.com
X-Amz-Date:20150830T123600Z
"""#,
            canonicalRequest: #"""
GET
/
-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz=-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz
host:example.amazonaws.com
x-amz-date:20150830T123600Z

host;x-amz-date
e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
"""#,
            stringToSign: #"""
AWS4-HMAC-SHA256
20150830T123600Z
20150830/us-east-1/service/aws4_request
c30d4703d9f799439be92736156d47ccfb2d879ddf56f5befa6d1d6aab979177
"""#,
            authorization: #"""
AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=9c3e54bfcdf0b19771a7f523ee5669cdf59bc7cc0884027167c21bb143a40197
"""#
        ),
        // 2015 · boto/botocore tests/unit/auth/aws4_testsuite/get-vanilla-utf8-query/get-vanilla-utf8-query.*
        // Raw UTF-8 (U+1234 ሴ) in the query; expected `%E1%88%B4=bar`.
        Vector(
            name: "get-vanilla-utf8-query",
            edition: 2015,
            request: #"""
GET /?ሴ=bar HTTP/1.1
Host:example.amazonaws.com
X-Amz-Date:20150830T123600Z
"""#,
            canonicalRequest: #"""
GET
/
%E1%88%B4=bar
host:example.amazonaws.com
x-amz-date:20150830T123600Z

host;x-amz-date
e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
"""#,
            stringToSign: #"""
AWS4-HMAC-SHA256
20150830T123600Z
20150830/us-east-1/service/aws4_request
eb30c5bed55734080471a834cc727ae56beb50e5f39d1bff6d0d38cb192a7073
"""#,
            authorization: #"""
AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=2cdec8eed098649ff3a119c94853b13c643bcf08f8b0a1d91e12c9027818dd04
"""#
        ),
        // 2015 · boto/botocore tests/unit/auth/aws4_testsuite/get-vanilla-with-session-token/get-vanilla-with-session-token.*
        // Added by botocore commit 826e7dab3 (2020, "Add CRT Auth classes"); not in AWS's original zip.
        // The .req carries NO X-Amz-Security-Token header, yet the canonical request signs
        // `x-amz-security-token:6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267`
        // (the signer is given that token out of band; the .sreq adds the header). NB: the .sreq's
        // Authorization carries get-vanilla's signature (5fa00fa3…), not this .authz's (07ec1639…).
        Vector(
            name: "get-vanilla-with-session-token",
            edition: 2015,
            request: #"""
GET / HTTP/1.1
Host:example.amazonaws.com
X-Amz-Date:20150830T123600Z
"""#,
            canonicalRequest: #"""
GET
/

host:example.amazonaws.com
x-amz-date:20150830T123600Z
x-amz-security-token:6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267

host;x-amz-date;x-amz-security-token
e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
"""#,
            stringToSign: #"""
AWS4-HMAC-SHA256
20150830T123600Z
20150830/us-east-1/service/aws4_request
067b36aa60031588cea4a4cde1f21215227a047690c72247f1d70b32fbbfad2b
"""#,
            authorization: #"""
AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date;x-amz-security-token, Signature=07ec1639c89043aa0e3e2de82b96708f198cceab042d4a97044c66dd9f74e7f8
"""#
        ),
        // 2015 · boto/botocore tests/unit/auth/aws4_testsuite/normalize-path/get-relative/get-relative.*
        Vector(
            name: "normalize-path/get-relative",
            edition: 2015,
            request: #"""
GET /example/.. HTTP/1.1
Host:example.amazonaws.com
X-Amz-Date:20150830T123600Z
"""#,
            canonicalRequest: #"""
GET
/

host:example.amazonaws.com
x-amz-date:20150830T123600Z

host;x-amz-date
e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
"""#,
            stringToSign: #"""
AWS4-HMAC-SHA256
20150830T123600Z
20150830/us-east-1/service/aws4_request
bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63
"""#,
            authorization: #"""
AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31
"""#
        ),
        // 2015 · boto/botocore tests/unit/auth/aws4_testsuite/normalize-path/get-relative-relative/get-relative-relative.*
        Vector(
            name: "normalize-path/get-relative-relative",
            edition: 2015,
            request: #"""
GET /example1/example2/../.. HTTP/1.1
Host:example.amazonaws.com
X-Amz-Date:20150830T123600Z
"""#,
            canonicalRequest: #"""
GET
/

host:example.amazonaws.com
x-amz-date:20150830T123600Z

host;x-amz-date
e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
"""#,
            stringToSign: #"""
AWS4-HMAC-SHA256
20150830T123600Z
20150830/us-east-1/service/aws4_request
bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63
"""#,
            authorization: #"""
AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31
"""#
        ),
        // 2015 · boto/botocore tests/unit/auth/aws4_testsuite/normalize-path/get-slash/get-slash.*
        Vector(
            name: "normalize-path/get-slash",
            edition: 2015,
            request: #"""
GET // HTTP/1.1
Host:example.amazonaws.com
X-Amz-Date:20150830T123600Z
"""#,
            canonicalRequest: #"""
GET
/

host:example.amazonaws.com
x-amz-date:20150830T123600Z

host;x-amz-date
e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
"""#,
            stringToSign: #"""
AWS4-HMAC-SHA256
20150830T123600Z
20150830/us-east-1/service/aws4_request
bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63
"""#,
            authorization: #"""
AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31
"""#
        ),
        // 2015 · boto/botocore tests/unit/auth/aws4_testsuite/normalize-path/get-slash-dot-slash/get-slash-dot-slash.*
        Vector(
            name: "normalize-path/get-slash-dot-slash",
            edition: 2015,
            request: #"""
GET /./ HTTP/1.1
Host:example.amazonaws.com
X-Amz-Date:20150830T123600Z
"""#,
            canonicalRequest: #"""
GET
/

host:example.amazonaws.com
x-amz-date:20150830T123600Z

host;x-amz-date
e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
"""#,
            stringToSign: #"""
AWS4-HMAC-SHA256
20150830T123600Z
20150830/us-east-1/service/aws4_request
bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63
"""#,
            authorization: #"""
AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31
"""#
        ),
        // 2015 · boto/botocore tests/unit/auth/aws4_testsuite/normalize-path/get-slash-pointless-dot/get-slash-pointless-dot.*
        Vector(
            name: "normalize-path/get-slash-pointless-dot",
            edition: 2015,
            request: #"""
GET /./example HTTP/1.1
Host:example.amazonaws.com
X-Amz-Date:20150830T123600Z
"""#,
            canonicalRequest: #"""
GET
/example

host:example.amazonaws.com
x-amz-date:20150830T123600Z

host;x-amz-date
e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
"""#,
            stringToSign: #"""
AWS4-HMAC-SHA256
20150830T123600Z
20150830/us-east-1/service/aws4_request
214d50c111a8edc4819da6a636336472c916b5240f51e9a51b5c3305180cf702
"""#,
            authorization: #"""
AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=ef75d96142cf21edca26f06005da7988e4f8dc83a165a80865db7089db637ec5
"""#
        ),
        // 2015 · boto/botocore tests/unit/auth/aws4_testsuite/normalize-path/get-slashes/get-slashes.*
        Vector(
            name: "normalize-path/get-slashes",
            edition: 2015,
            request: #"""
GET //example// HTTP/1.1
Host:example.amazonaws.com
X-Amz-Date:20150830T123600Z
"""#,
            canonicalRequest: #"""
GET
/example/

host:example.amazonaws.com
x-amz-date:20150830T123600Z

host;x-amz-date
e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
"""#,
            stringToSign: #"""
AWS4-HMAC-SHA256
20150830T123600Z
20150830/us-east-1/service/aws4_request
cb96b4ac96d501f7c5c15bc6d67b3035061cfced4af6585ad927f7e6c985c015
"""#,
            authorization: #"""
AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=9a624bd73a37c9a373b5312afbebe7a714a789de108f0bdfe846570885f57e84
"""#
        ),
        // 2015 · boto/botocore tests/unit/auth/aws4_testsuite/normalize-path/get-space/get-space.*
        // Request-target contains a raw space (`GET /example space/ HTTP/1.1`): not legal on the wire;
        // read the method up to the first space and the version after the last one. Expected path is
        // `/example%20space/` (encoded once).
        Vector(
            name: "normalize-path/get-space",
            edition: 2015,
            request: #"""
GET /example space/ HTTP/1.1
Host:example.amazonaws.com
X-Amz-Date:20150830T123600Z
"""#,
            canonicalRequest: #"""
GET
/example%20space/

host:example.amazonaws.com
x-amz-date:20150830T123600Z

host;x-amz-date
e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
"""#,
            stringToSign: #"""
AWS4-HMAC-SHA256
20150830T123600Z
20150830/us-east-1/service/aws4_request
63ee75631ed7234ae61b5f736dfc7754cdccfedbff4b5128a915706ee9390d86
"""#,
            authorization: #"""
AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=652487583200325589f1fba4c7e578f72c47cb61beeca81406b39ddec1366741
"""#
        ),
        // 2015 · boto/botocore tests/unit/auth/aws4_testsuite/normalize-path/get-special-character/get-special-character.*
        // Added by botocore commit 826e7dab3 (2020); not in AWS's original zip. File ends with a newline.
        Vector(
            name: "normalize-path/get-special-character",
            edition: 2015,
            request: #"""
GET /example/$delete HTTP/1.1
Host:example.amazonaws.com
X-Amz-Date:20150830T123600Z

"""#,
            canonicalRequest: #"""
GET
/example/%24delete

host:example.amazonaws.com
x-amz-date:20150830T123600Z

host;x-amz-date
e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
"""#,
            stringToSign: #"""
AWS4-HMAC-SHA256
20150830T123600Z
20150830/us-east-1/service/aws4_request
4053e45b5cef7cec5e17f736b1c12b3faf0388fd4c0bd24326386f132039ce5c
"""#,
            authorization: #"""
AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=a853c9b21b528b19643d00910d35b83a10c366a10833ceefb45edd6c80e40f27
"""#
        ),
        // 2015 · boto/botocore tests/unit/auth/aws4_testsuite/post-header-key-case/post-header-key-case.*
        // Identical to post-vanilla in this edition.
        Vector(
            name: "post-header-key-case",
            edition: 2015,
            request: #"""
POST / HTTP/1.1
Host:example.amazonaws.com
X-Amz-Date:20150830T123600Z
"""#,
            canonicalRequest: #"""
POST
/

host:example.amazonaws.com
x-amz-date:20150830T123600Z

host;x-amz-date
e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
"""#,
            stringToSign: #"""
AWS4-HMAC-SHA256
20150830T123600Z
20150830/us-east-1/service/aws4_request
553f88c9e4d10fc9e109e2aeb65f030801b70c2f6468faca261d401ae622fc87
"""#,
            authorization: #"""
AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b
"""#
        ),
        // 2015 · boto/botocore tests/unit/auth/aws4_testsuite/post-header-key-sort/post-header-key-sort.*
        Vector(
            name: "post-header-key-sort",
            edition: 2015,
            request: #"""
POST / HTTP/1.1
Host:example.amazonaws.com
My-Header1:value1
X-Amz-Date:20150830T123600Z
"""#,
            canonicalRequest: #"""
POST
/

host:example.amazonaws.com
my-header1:value1
x-amz-date:20150830T123600Z

host;my-header1;x-amz-date
e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
"""#,
            stringToSign: #"""
AWS4-HMAC-SHA256
20150830T123600Z
20150830/us-east-1/service/aws4_request
9368318c2967cf6de74404b30c65a91e8f6253e0a8659d6d5319f1a812f87d65
"""#,
            authorization: #"""
AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;my-header1;x-amz-date, Signature=c5410059b04c1ee005303aed430f6e6645f61f4dc9e1461ec8f8916fdf18852c
"""#
        ),
        // 2015 · boto/botocore tests/unit/auth/aws4_testsuite/post-header-value-case/post-header-value-case.*
        Vector(
            name: "post-header-value-case",
            edition: 2015,
            request: #"""
POST / HTTP/1.1
Host:example.amazonaws.com
My-Header1:VALUE1
X-Amz-Date:20150830T123600Z
"""#,
            canonicalRequest: #"""
POST
/

host:example.amazonaws.com
my-header1:VALUE1
x-amz-date:20150830T123600Z

host;my-header1;x-amz-date
e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
"""#,
            stringToSign: #"""
AWS4-HMAC-SHA256
20150830T123600Z
20150830/us-east-1/service/aws4_request
d51ced243e649e3de6ef63afbbdcbca03131a21a7103a1583706a64618606a93
"""#,
            authorization: #"""
AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;my-header1;x-amz-date, Signature=cdbc9802e29d2942e5e10b5bccfdd67c5f22c7c4e8ae67b53629efa58b974b7d
"""#
        ),
        // 2015 · boto/botocore tests/unit/auth/aws4_testsuite/post-sts-token/post-sts-header-after/post-sts-header-after.*
        // Token added AFTER signing: .req/.creq/.sts/.authz are post-vanilla's; the .sreq (not included)
        // then carries X-Amz-Security-Token unsigned.
        Vector(
            name: "post-sts-token/post-sts-header-after",
            edition: 2015,
            request: #"""
POST / HTTP/1.1
Host:example.amazonaws.com
X-Amz-Date:20150830T123600Z
"""#,
            canonicalRequest: #"""
POST
/

host:example.amazonaws.com
x-amz-date:20150830T123600Z

host;x-amz-date
e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
"""#,
            stringToSign: #"""
AWS4-HMAC-SHA256
20150830T123600Z
20150830/us-east-1/service/aws4_request
553f88c9e4d10fc9e109e2aeb65f030801b70c2f6468faca261d401ae622fc87
"""#,
            authorization: #"""
AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b
"""#
        ),
        // 2015 · boto/botocore tests/unit/auth/aws4_testsuite/post-sts-token/post-sts-header-before/post-sts-header-before.*
        // X-Amz-Security-Token header is signed.
        Vector(
            name: "post-sts-token/post-sts-header-before",
            edition: 2015,
            request: #"""
POST / HTTP/1.1
Host:example.amazonaws.com
X-Amz-Date:20150830T123600Z
X-Amz-Security-Token:AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA==
"""#,
            canonicalRequest: #"""
POST
/

host:example.amazonaws.com
x-amz-date:20150830T123600Z
x-amz-security-token:AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA==

host;x-amz-date;x-amz-security-token
e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
"""#,
            stringToSign: #"""
AWS4-HMAC-SHA256
20150830T123600Z
20150830/us-east-1/service/aws4_request
c237e1b440d4c63c32ca95b5b99481081cb7b13c7e40434868e71567c1a882f6
"""#,
            authorization: #"""
AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date;x-amz-security-token, Signature=85d96828115b5dc0cfc3bd16ad9e210dd772bbebba041836c64533a82be05ead
"""#
        ),
        // 2015 · boto/botocore tests/unit/auth/aws4_testsuite/post-vanilla/post-vanilla.*
        Vector(
            name: "post-vanilla",
            edition: 2015,
            request: #"""
POST / HTTP/1.1
Host:example.amazonaws.com
X-Amz-Date:20150830T123600Z
"""#,
            canonicalRequest: #"""
POST
/

host:example.amazonaws.com
x-amz-date:20150830T123600Z

host;x-amz-date
e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
"""#,
            stringToSign: #"""
AWS4-HMAC-SHA256
20150830T123600Z
20150830/us-east-1/service/aws4_request
553f88c9e4d10fc9e109e2aeb65f030801b70c2f6468faca261d401ae622fc87
"""#,
            authorization: #"""
AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b
"""#
        ),
        // 2015 · boto/botocore tests/unit/auth/aws4_testsuite/post-vanilla-empty-query-value/post-vanilla-empty-query-value.*
        // Identical to post-vanilla-query in this edition (`POST /?Param1=value1`).
        Vector(
            name: "post-vanilla-empty-query-value",
            edition: 2015,
            request: #"""
POST /?Param1=value1 HTTP/1.1
Host:example.amazonaws.com
X-Amz-Date:20150830T123600Z
"""#,
            canonicalRequest: #"""
POST
/
Param1=value1
host:example.amazonaws.com
x-amz-date:20150830T123600Z

host;x-amz-date
e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
"""#,
            stringToSign: #"""
AWS4-HMAC-SHA256
20150830T123600Z
20150830/us-east-1/service/aws4_request
9d659678c1756bb3113e2ce898845a0a79dbbc57b740555917687f1b3340fbbd
"""#,
            authorization: #"""
AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=28038455d6de14eafc1f9222cf5aa6f1a96197d7deb8263271d420d138af7f11
"""#
        ),
        // 2015 · boto/botocore tests/unit/auth/aws4_testsuite/post-vanilla-query/post-vanilla-query.*
        Vector(
            name: "post-vanilla-query",
            edition: 2015,
            request: #"""
POST /?Param1=value1 HTTP/1.1
Host:example.amazonaws.com
X-Amz-Date:20150830T123600Z
"""#,
            canonicalRequest: #"""
POST
/
Param1=value1
host:example.amazonaws.com
x-amz-date:20150830T123600Z

host;x-amz-date
e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
"""#,
            stringToSign: #"""
AWS4-HMAC-SHA256
20150830T123600Z
20150830/us-east-1/service/aws4_request
9d659678c1756bb3113e2ce898845a0a79dbbc57b740555917687f1b3340fbbd
"""#,
            authorization: #"""
AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=28038455d6de14eafc1f9222cf5aa6f1a96197d7deb8263271d420d138af7f11
"""#
        ),
        // 2015 · boto/botocore tests/unit/auth/aws4_testsuite/post-x-www-form-urlencoded/post-x-www-form-urlencoded.*
        // Has a body (`Param1=value1`, no trailing newline) and no Content-Length header.
        Vector(
            name: "post-x-www-form-urlencoded",
            edition: 2015,
            request: #"""
POST / HTTP/1.1
Content-Type:application/x-www-form-urlencoded
Host:example.amazonaws.com
X-Amz-Date:20150830T123600Z

Param1=value1
"""#,
            canonicalRequest: #"""
POST
/

content-type:application/x-www-form-urlencoded
host:example.amazonaws.com
x-amz-date:20150830T123600Z

content-type;host;x-amz-date
9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e
"""#,
            stringToSign: #"""
AWS4-HMAC-SHA256
20150830T123600Z
20150830/us-east-1/service/aws4_request
42a5e5bb34198acb3e84da4f085bb7927f2bc277ca766e6d19c73c2154021281
"""#,
            authorization: #"""
AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a
"""#
        ),
        // 2015 · boto/botocore tests/unit/auth/aws4_testsuite/post-x-www-form-urlencoded-parameters/post-x-www-form-urlencoded-parameters.*
        // Has a body (`Param1=value1`, no trailing newline) and no Content-Length header.
        Vector(
            name: "post-x-www-form-urlencoded-parameters",
            edition: 2015,
            request: #"""
POST / HTTP/1.1
Content-Type:application/x-www-form-urlencoded; charset=utf8
Host:example.amazonaws.com
X-Amz-Date:20150830T123600Z

Param1=value1
"""#,
            canonicalRequest: #"""
POST
/

content-type:application/x-www-form-urlencoded; charset=utf8
host:example.amazonaws.com
x-amz-date:20150830T123600Z

content-type;host;x-amz-date
9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e
"""#,
            stringToSign: #"""
AWS4-HMAC-SHA256
20150830T123600Z
20150830/us-east-1/service/aws4_request
2e1cf7ed91881a30569e46552437e4156c823447bf1781b921b5d486c568dd1c
"""#,
            authorization: #"""
AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=1a72ec8f64bd914b0e42e42607c7fbce7fb2c7465f63e3092b3b0d39fa77a6fe
"""#
        ),

        // MARK: 2011 edition
        // 2011 · boto/botocore @ 2db2e74fa tests/unit/auth/aws4_testsuite/get-header-key-duplicate.* (CRLF -> LF)
        // A POST despite its name.
        Vector(
            name: "get-header-key-duplicate",
            edition: 2011,
            request: #"""
POST / http/1.1
DATE:Mon, 09 Sep 2011 23:36:00 GMT
host:host.foo.com
ZOO:zoobar
zoo:foobar
zoo:zoobar


"""#,
            canonicalRequest: #"""
POST
/

date:Mon, 09 Sep 2011 23:36:00 GMT
host:host.foo.com
zoo:foobar,zoobar,zoobar

date;host;zoo
e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
"""#,
            stringToSign: #"""
AWS4-HMAC-SHA256
20110909T233600Z
20110909/us-east-1/host/aws4_request
3c52f0eaae2b61329c0a332e3fa15842a37bc5812cf4d80eb64784308850e313
"""#,
            authorization: #"""
AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20110909/us-east-1/host/aws4_request, SignedHeaders=date;host;zoo, Signature=54afcaaf45b331f81cd2edb974f7b824ff4dd594cbbaa945ed636b48477368ed
"""#
        ),
        // 2011 · boto/botocore @ 2db2e74fa tests/unit/auth/aws4_testsuite/get-header-value-order.* (CRLF -> LF)
        // A POST despite its name.
        Vector(
            name: "get-header-value-order",
            edition: 2011,
            request: #"""
POST / http/1.1
DATE:Mon, 09 Sep 2011 23:36:00 GMT
host:host.foo.com
p:z
p:a
p:p
p:a


"""#,
            canonicalRequest: #"""
POST
/

date:Mon, 09 Sep 2011 23:36:00 GMT
host:host.foo.com
p:a,a,p,z

date;host;p
e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
"""#,
            stringToSign: #"""
AWS4-HMAC-SHA256
20110909T233600Z
20110909/us-east-1/host/aws4_request
94c0389fefe0988cbbedc8606f0ca0b485b48da010d09fc844b45b697c8924fe
"""#,
            authorization: #"""
AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20110909/us-east-1/host/aws4_request, SignedHeaders=date;host;p, Signature=d2973954263943b11624a11d1c963ca81fb274169c7868b2858c04f083199e3d
"""#
        ),
        // 2011 · boto/botocore @ 2db2e74fa tests/unit/auth/aws4_testsuite/get-header-value-trim.* (CRLF -> LF)
        // A POST despite its name; value `p: phfft ` has a trailing space.
        Vector(
            name: "get-header-value-trim",
            edition: 2011,
            request: #"""
POST / http/1.1
DATE:Mon, 09 Sep 2011 23:36:00 GMT
host:host.foo.com
p: phfft 


"""#,
            canonicalRequest: #"""
POST
/

date:Mon, 09 Sep 2011 23:36:00 GMT
host:host.foo.com
p:phfft

date;host;p
e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
"""#,
            stringToSign: #"""
AWS4-HMAC-SHA256
20110909T233600Z
20110909/us-east-1/host/aws4_request
dddd1902add08da1ac94782b05f9278c08dc7468db178a84f8950d93b30b1f35
"""#,
            authorization: #"""
AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20110909/us-east-1/host/aws4_request, SignedHeaders=date;host;p, Signature=debf546796015d6f6ded8626f5ce98597c33b47b9164cf6b17b4642036fcb592
"""#
        ),
        // 2011 · boto/botocore @ 2db2e74fa tests/unit/auth/aws4_testsuite/get-relative.* (CRLF -> LF)
        Vector(
            name: "get-relative",
            edition: 2011,
            request: #"""
GET /foo/.. http/1.1
Date:Mon, 09 Sep 2011 23:36:00 GMT
Host:host.foo.com


"""#,
            canonicalRequest: #"""
GET
/

date:Mon, 09 Sep 2011 23:36:00 GMT
host:host.foo.com

date;host
e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
"""#,
            stringToSign: #"""
AWS4-HMAC-SHA256
20110909T233600Z
20110909/us-east-1/host/aws4_request
366b91fb121d72a00f46bbe8d395f53a102b06dfb7e79636515208ed3fa606b1
"""#,
            authorization: #"""
AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20110909/us-east-1/host/aws4_request, SignedHeaders=date;host, Signature=b27ccfbfa7df52a200ff74193ca6e32d4b48b8856fab7ebf1c595d0670a7e470
"""#
        ),
        // 2011 · boto/botocore @ 2db2e74fa tests/unit/auth/aws4_testsuite/get-relative-relative.* (CRLF -> LF)
        Vector(
            name: "get-relative-relative",
            edition: 2011,
            request: #"""
GET /foo/bar/../.. http/1.1
Date:Mon, 09 Sep 2011 23:36:00 GMT
Host:host.foo.com


"""#,
            canonicalRequest: #"""
GET
/

date:Mon, 09 Sep 2011 23:36:00 GMT
host:host.foo.com

date;host
e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
"""#,
            stringToSign: #"""
AWS4-HMAC-SHA256
20110909T233600Z
20110909/us-east-1/host/aws4_request
366b91fb121d72a00f46bbe8d395f53a102b06dfb7e79636515208ed3fa606b1
"""#,
            authorization: #"""
AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20110909/us-east-1/host/aws4_request, SignedHeaders=date;host, Signature=b27ccfbfa7df52a200ff74193ca6e32d4b48b8856fab7ebf1c595d0670a7e470
"""#
        ),
        // 2011 · boto/botocore @ 2db2e74fa tests/unit/auth/aws4_testsuite/get-slash.* (CRLF -> LF)
        Vector(
            name: "get-slash",
            edition: 2011,
            request: #"""
GET // http/1.1
Date:Mon, 09 Sep 2011 23:36:00 GMT
Host:host.foo.com


"""#,
            canonicalRequest: #"""
GET
/

date:Mon, 09 Sep 2011 23:36:00 GMT
host:host.foo.com

date;host
e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
"""#,
            stringToSign: #"""
AWS4-HMAC-SHA256
20110909T233600Z
20110909/us-east-1/host/aws4_request
366b91fb121d72a00f46bbe8d395f53a102b06dfb7e79636515208ed3fa606b1
"""#,
            authorization: #"""
AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20110909/us-east-1/host/aws4_request, SignedHeaders=date;host, Signature=b27ccfbfa7df52a200ff74193ca6e32d4b48b8856fab7ebf1c595d0670a7e470
"""#
        ),
        // 2011 · boto/botocore @ 2db2e74fa tests/unit/auth/aws4_testsuite/get-slash-dot-slash.* (CRLF -> LF)
        Vector(
            name: "get-slash-dot-slash",
            edition: 2011,
            request: #"""
GET /./ http/1.1
Date:Mon, 09 Sep 2011 23:36:00 GMT
Host:host.foo.com


"""#,
            canonicalRequest: #"""
GET
/

date:Mon, 09 Sep 2011 23:36:00 GMT
host:host.foo.com

date;host
e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
"""#,
            stringToSign: #"""
AWS4-HMAC-SHA256
20110909T233600Z
20110909/us-east-1/host/aws4_request
366b91fb121d72a00f46bbe8d395f53a102b06dfb7e79636515208ed3fa606b1
"""#,
            authorization: #"""
AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20110909/us-east-1/host/aws4_request, SignedHeaders=date;host, Signature=b27ccfbfa7df52a200ff74193ca6e32d4b48b8856fab7ebf1c595d0670a7e470
"""#
        ),
        // 2011 · boto/botocore @ 2db2e74fa tests/unit/auth/aws4_testsuite/get-slash-pointless-dot.* (CRLF -> LF)
        Vector(
            name: "get-slash-pointless-dot",
            edition: 2011,
            request: #"""
GET /./foo http/1.1
Date:Mon, 09 Sep 2011 23:36:00 GMT
Host:host.foo.com


"""#,
            canonicalRequest: #"""
GET
/foo

date:Mon, 09 Sep 2011 23:36:00 GMT
host:host.foo.com

date;host
e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
"""#,
            stringToSign: #"""
AWS4-HMAC-SHA256
20110909T233600Z
20110909/us-east-1/host/aws4_request
8021a97572ee460f87ca67f4e8c0db763216d84715f5424a843a5312a3321e2d
"""#,
            authorization: #"""
AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20110909/us-east-1/host/aws4_request, SignedHeaders=date;host, Signature=910e4d6c9abafaf87898e1eb4c929135782ea25bb0279703146455745391e63a
"""#
        ),
        // 2011 · boto/botocore @ 2db2e74fa tests/unit/auth/aws4_testsuite/get-slashes.* (CRLF -> LF)
        Vector(
            name: "get-slashes",
            edition: 2011,
            request: #"""
GET //foo// http/1.1
Date:Mon, 09 Sep 2011 23:36:00 GMT
Host:host.foo.com


"""#,
            canonicalRequest: #"""
GET
/foo/

date:Mon, 09 Sep 2011 23:36:00 GMT
host:host.foo.com

date;host
e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
"""#,
            stringToSign: #"""
AWS4-HMAC-SHA256
20110909T233600Z
20110909/us-east-1/host/aws4_request
6bb4476ee8745730c9cb79f33a0c70baa6d8af29c0077fa12e4e8f1dd17e7098
"""#,
            authorization: #"""
AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20110909/us-east-1/host/aws4_request, SignedHeaders=date;host, Signature=b00392262853cfe3201e47ccf945601079e9b8a7f51ee4c3d9ee4f187aa9bf19
"""#
        ),
        // 2011 · boto/botocore @ 2db2e74fa tests/unit/auth/aws4_testsuite/get-space.* (CRLF -> LF)
        // botocore later (1bb9c050a, 2014) rewrote this to a double-encoded `/%2520/foo`; this is the original `/%20/foo`.
        Vector(
            name: "get-space",
            edition: 2011,
            request: #"""
GET /%20/foo http/1.1
Date:Mon, 09 Sep 2011 23:36:00 GMT
Host:host.foo.com


"""#,
            canonicalRequest: #"""
GET
/%20/foo

date:Mon, 09 Sep 2011 23:36:00 GMT
host:host.foo.com

date;host
e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
"""#,
            stringToSign: #"""
AWS4-HMAC-SHA256
20110909T233600Z
20110909/us-east-1/host/aws4_request
69c45fb9fe3fd76442b5086e50b2e9fec8298358da957b293ef26e506fdfb54b
"""#,
            authorization: #"""
AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20110909/us-east-1/host/aws4_request, SignedHeaders=date;host, Signature=f309cfbd10197a230c42dd17dbf5cca8a0722564cb40a872d25623cfa758e374
"""#
        ),
        // 2011 · boto/botocore @ 2db2e74fa tests/unit/auth/aws4_testsuite/get-unreserved.* (CRLF -> LF)
        Vector(
            name: "get-unreserved",
            edition: 2011,
            request: #"""
GET /-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz http/1.1
Date:Mon, 09 Sep 2011 23:36:00 GMT
Host:host.foo.com


"""#,
            canonicalRequest: #"""
GET
/-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz

date:Mon, 09 Sep 2011 23:36:00 GMT
host:host.foo.com

date;host
e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
"""#,
            stringToSign: #"""
AWS4-HMAC-SHA256
20110909T233600Z
20110909/us-east-1/host/aws4_request
df63ee3247c0356c696a3b21f8d8490b01fa9cd5bc6550ef5ef5f4636b7b8901
"""#,
            authorization: #"""
AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20110909/us-east-1/host/aws4_request, SignedHeaders=date;host, Signature=830cc36d03f0f84e6ee4953fbe701c1c8b71a0372c63af9255aa364dd183281e
"""#
        ),
        // 2011 · boto/botocore @ 2db2e74fa tests/unit/auth/aws4_testsuite/get-utf8.* (CRLF -> LF)
        // botocore later (1bb9c050a, 2014) rewrote this to a double-encoded `/%25E1%2588%25B4`; this is the original `/%E1%88%B4`.
        Vector(
            name: "get-utf8",
            edition: 2011,
            request: #"""
GET /%E1%88%B4 http/1.1
Date:Mon, 09 Sep 2011 23:36:00 GMT
Host:host.foo.com


"""#,
            canonicalRequest: #"""
GET
/%E1%88%B4

date:Mon, 09 Sep 2011 23:36:00 GMT
host:host.foo.com

date;host
e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
"""#,
            stringToSign: #"""
AWS4-HMAC-SHA256
20110909T233600Z
20110909/us-east-1/host/aws4_request
27ba31df5dbc6e063d8f87d62eb07143f7f271c5330a917840586ac1c85b6f6b
"""#,
            authorization: #"""
AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20110909/us-east-1/host/aws4_request, SignedHeaders=date;host, Signature=8d6634c189aa8c75c2e51e106b6b5121bed103fdb351f7d7d4381c738823af74
"""#
        ),
        // 2011 · boto/botocore @ 2db2e74fa tests/unit/auth/aws4_testsuite/get-vanilla.* (CRLF -> LF)
        Vector(
            name: "get-vanilla",
            edition: 2011,
            request: #"""
GET / http/1.1
Date:Mon, 09 Sep 2011 23:36:00 GMT
Host:host.foo.com


"""#,
            canonicalRequest: #"""
GET
/

date:Mon, 09 Sep 2011 23:36:00 GMT
host:host.foo.com

date;host
e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
"""#,
            stringToSign: #"""
AWS4-HMAC-SHA256
20110909T233600Z
20110909/us-east-1/host/aws4_request
366b91fb121d72a00f46bbe8d395f53a102b06dfb7e79636515208ed3fa606b1
"""#,
            authorization: #"""
AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20110909/us-east-1/host/aws4_request, SignedHeaders=date;host, Signature=b27ccfbfa7df52a200ff74193ca6e32d4b48b8856fab7ebf1c595d0670a7e470
"""#
        ),
        // 2011 · boto/botocore @ 2db2e74fa tests/unit/auth/aws4_testsuite/get-vanilla-empty-query-key.* (CRLF -> LF)
        Vector(
            name: "get-vanilla-empty-query-key",
            edition: 2011,
            request: #"""
GET /?foo=bar http/1.1
Date:Mon, 09 Sep 2011 23:36:00 GMT
Host:host.foo.com


"""#,
            canonicalRequest: #"""
GET
/
foo=bar
date:Mon, 09 Sep 2011 23:36:00 GMT
host:host.foo.com

date;host
e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
"""#,
            stringToSign: #"""
AWS4-HMAC-SHA256
20110909T233600Z
20110909/us-east-1/host/aws4_request
0846c2945b0832deb7a463c66af5c4f8bd54ec28c438e67a214445b157c9ddf8
"""#,
            authorization: #"""
AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20110909/us-east-1/host/aws4_request, SignedHeaders=date;host, Signature=56c054473fd260c13e4e7393eb203662195f5d4a1fada5314b8b52b23f985e9f
"""#
        ),
        // 2011 · boto/botocore @ 2db2e74fa tests/unit/auth/aws4_testsuite/get-vanilla-query.* (CRLF -> LF)
        Vector(
            name: "get-vanilla-query",
            edition: 2011,
            request: #"""
GET / http/1.1
Date:Mon, 09 Sep 2011 23:36:00 GMT
Host:host.foo.com


"""#,
            canonicalRequest: #"""
GET
/

date:Mon, 09 Sep 2011 23:36:00 GMT
host:host.foo.com

date;host
e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
"""#,
            stringToSign: #"""
AWS4-HMAC-SHA256
20110909T233600Z
20110909/us-east-1/host/aws4_request
366b91fb121d72a00f46bbe8d395f53a102b06dfb7e79636515208ed3fa606b1
"""#,
            authorization: #"""
AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20110909/us-east-1/host/aws4_request, SignedHeaders=date;host, Signature=b27ccfbfa7df52a200ff74193ca6e32d4b48b8856fab7ebf1c595d0670a7e470
"""#
        ),
        // 2011 · boto/botocore @ 2db2e74fa tests/unit/auth/aws4_testsuite/get-vanilla-query-order-key.* (CRLF -> LF)
        Vector(
            name: "get-vanilla-query-order-key",
            edition: 2011,
            request: #"""
GET /?a=foo&b=foo http/1.1
Date:Mon, 09 Sep 2011 23:36:00 GMT
Host:host.foo.com


"""#,
            canonicalRequest: #"""
GET
/
a=foo&b=foo
date:Mon, 09 Sep 2011 23:36:00 GMT
host:host.foo.com

date;host
e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
"""#,
            stringToSign: #"""
AWS4-HMAC-SHA256
20110909T233600Z
20110909/us-east-1/host/aws4_request
2f23d14fe13caebf6dfda346285c6d9c14f49eaca8f5ec55c627dd7404f7a727
"""#,
            authorization: #"""
AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20110909/us-east-1/host/aws4_request, SignedHeaders=date;host, Signature=0dc122f3b28b831ab48ba65cb47300de53fbe91b577fe113edac383730254a3b
"""#
        ),
        // 2011 · boto/botocore @ 2db2e74fa tests/unit/auth/aws4_testsuite/get-vanilla-query-order-key-case.* (CRLF -> LF)
        Vector(
            name: "get-vanilla-query-order-key-case",
            edition: 2011,
            request: #"""
GET /?foo=Zoo&foo=aha http/1.1
Date:Mon, 09 Sep 2011 23:36:00 GMT
Host:host.foo.com


"""#,
            canonicalRequest: #"""
GET
/
foo=Zoo&foo=aha
date:Mon, 09 Sep 2011 23:36:00 GMT
host:host.foo.com

date;host
e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
"""#,
            stringToSign: #"""
AWS4-HMAC-SHA256
20110909T233600Z
20110909/us-east-1/host/aws4_request
e25f777ba161a0f1baf778a87faf057187cf5987f17953320e3ca399feb5f00d
"""#,
            authorization: #"""
AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20110909/us-east-1/host/aws4_request, SignedHeaders=date;host, Signature=be7148d34ebccdc6423b19085378aa0bee970bdc61d144bd1a8c48c33079ab09
"""#
        ),
        // 2011 · boto/botocore @ 2db2e74fa tests/unit/auth/aws4_testsuite/get-vanilla-query-order-value.* (CRLF -> LF)
        Vector(
            name: "get-vanilla-query-order-value",
            edition: 2011,
            request: #"""
GET /?foo=b&foo=a http/1.1
Date:Mon, 09 Sep 2011 23:36:00 GMT
Host:host.foo.com


"""#,
            canonicalRequest: #"""
GET
/
foo=a&foo=b
date:Mon, 09 Sep 2011 23:36:00 GMT
host:host.foo.com

date;host
e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
"""#,
            stringToSign: #"""
AWS4-HMAC-SHA256
20110909T233600Z
20110909/us-east-1/host/aws4_request
33dffc220e89131f8f6157a35c40903daa658608d9129ff9489e5cf5bbd9b11b
"""#,
            authorization: #"""
AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20110909/us-east-1/host/aws4_request, SignedHeaders=date;host, Signature=feb926e49e382bec75c9d7dcb2a1b6dc8aa50ca43c25d2bc51143768c0875acc
"""#
        ),
        // 2011 · boto/botocore @ 2db2e74fa tests/unit/auth/aws4_testsuite/get-vanilla-query-unreserved.* (CRLF -> LF)
        Vector(
            name: "get-vanilla-query-unreserved",
            edition: 2011,
            request: #"""
GET /?-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz=-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz http/1.1
Date:Mon, 09 Sep 2011 23:36:00 GMT
Host:host.foo.com


"""#,
            canonicalRequest: #"""
GET
/
-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz=-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz
date:Mon, 09 Sep 2011 23:36:00 GMT
host:host.foo.com

date;host
e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
"""#,
            stringToSign: #"""
AWS4-HMAC-SHA256
20110909T233600Z
20110909/us-east-1/host/aws4_request
d2578f3156d4c9d180713d1ff20601d8a3eed0dd35447d24603d7d67414bd6b5
"""#,
            authorization: #"""
AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20110909/us-east-1/host/aws4_request, SignedHeaders=date;host, Signature=f1498ddb4d6dae767d97c466fb92f1b59a2c71ca29ac954692663f9db03426fb
"""#
        ),
        // 2011 · boto/botocore @ 2db2e74fa tests/unit/auth/aws4_testsuite/get-vanilla-ut8-query.* (CRLF -> LF)
        // Name ("ut8") is spelt so in the suite. Raw UTF-8 (U+1234 ሴ) in the query.
        Vector(
            name: "get-vanilla-ut8-query",
            edition: 2011,
            request: #"""
GET /?ሴ=bar http/1.1
Date:Mon, 09 Sep 2011 23:36:00 GMT
Host:host.foo.com


"""#,
            canonicalRequest: #"""
GET
/
%E1%88%B4=bar
date:Mon, 09 Sep 2011 23:36:00 GMT
host:host.foo.com

date;host
e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
"""#,
            stringToSign: #"""
AWS4-HMAC-SHA256
20110909T233600Z
20110909/us-east-1/host/aws4_request
de5065ff39c131e6c2e2bd19cd9345a794bf3b561eab20b8d97b2093fc2a979e
"""#,
            authorization: #"""
AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20110909/us-east-1/host/aws4_request, SignedHeaders=date;host, Signature=6fb359e9a05394cc7074e0feb42573a2601abc0c869a953e8c5c12e4e01f1a8c
"""#
        ),
        // 2011 · boto/botocore @ 2db2e74fa tests/unit/auth/aws4_testsuite/post-header-key-case.* (CRLF -> LF)
        Vector(
            name: "post-header-key-case",
            edition: 2011,
            request: #"""
POST / http/1.1
DATE:Mon, 09 Sep 2011 23:36:00 GMT
host:host.foo.com


"""#,
            canonicalRequest: #"""
POST
/

date:Mon, 09 Sep 2011 23:36:00 GMT
host:host.foo.com

date;host
e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
"""#,
            stringToSign: #"""
AWS4-HMAC-SHA256
20110909T233600Z
20110909/us-east-1/host/aws4_request
05da62cee468d24ae84faff3c39f1b85540de60243c1bcaace39c0a2acc7b2c4
"""#,
            authorization: #"""
AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20110909/us-east-1/host/aws4_request, SignedHeaders=date;host, Signature=22902d79e148b64e7571c3565769328423fe276eae4b26f83afceda9e767f726
"""#
        ),
        // 2011 · boto/botocore @ 2db2e74fa tests/unit/auth/aws4_testsuite/post-header-key-sort.* (CRLF -> LF)
        Vector(
            name: "post-header-key-sort",
            edition: 2011,
            request: #"""
POST / http/1.1
DATE:Mon, 09 Sep 2011 23:36:00 GMT
host:host.foo.com
ZOO:zoobar


"""#,
            canonicalRequest: #"""
POST
/

date:Mon, 09 Sep 2011 23:36:00 GMT
host:host.foo.com
zoo:zoobar

date;host;zoo
e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
"""#,
            stringToSign: #"""
AWS4-HMAC-SHA256
20110909T233600Z
20110909/us-east-1/host/aws4_request
34e1bddeb99e76ee01d63b5e28656111e210529efeec6cdfd46a48e4c734545d
"""#,
            authorization: #"""
AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20110909/us-east-1/host/aws4_request, SignedHeaders=date;host;zoo, Signature=b7a95a52518abbca0964a999a880429ab734f35ebbf1235bd79a5de87756dc4a
"""#
        ),
        // 2011 · boto/botocore @ 2db2e74fa tests/unit/auth/aws4_testsuite/post-header-value-case.* (CRLF -> LF)
        Vector(
            name: "post-header-value-case",
            edition: 2011,
            request: #"""
POST / http/1.1
DATE:Mon, 09 Sep 2011 23:36:00 GMT
host:host.foo.com
zoo:ZOOBAR


"""#,
            canonicalRequest: #"""
POST
/

date:Mon, 09 Sep 2011 23:36:00 GMT
host:host.foo.com
zoo:ZOOBAR

date;host;zoo
e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
"""#,
            stringToSign: #"""
AWS4-HMAC-SHA256
20110909T233600Z
20110909/us-east-1/host/aws4_request
3aae6d8274b8c03e2cc96fc7d6bda4b9bd7a0a184309344470b2c96953e124aa
"""#,
            authorization: #"""
AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20110909/us-east-1/host/aws4_request, SignedHeaders=date;host;zoo, Signature=273313af9d0c265c531e11db70bbd653f3ba074c1009239e8559d3987039cad7
"""#
        ),
        // 2011 · boto/botocore @ 2db2e74fa tests/unit/auth/aws4_testsuite/post-vanilla.* (CRLF -> LF)
        Vector(
            name: "post-vanilla",
            edition: 2011,
            request: #"""
POST / http/1.1
Date:Mon, 09 Sep 2011 23:36:00 GMT
Host:host.foo.com


"""#,
            canonicalRequest: #"""
POST
/

date:Mon, 09 Sep 2011 23:36:00 GMT
host:host.foo.com

date;host
e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
"""#,
            stringToSign: #"""
AWS4-HMAC-SHA256
20110909T233600Z
20110909/us-east-1/host/aws4_request
05da62cee468d24ae84faff3c39f1b85540de60243c1bcaace39c0a2acc7b2c4
"""#,
            authorization: #"""
AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20110909/us-east-1/host/aws4_request, SignedHeaders=date;host, Signature=22902d79e148b64e7571c3565769328423fe276eae4b26f83afceda9e767f726
"""#
        ),
        // 2011 · boto/botocore @ 2db2e74fa tests/unit/auth/aws4_testsuite/post-vanilla-empty-query-value.* (CRLF -> LF)
        Vector(
            name: "post-vanilla-empty-query-value",
            edition: 2011,
            request: #"""
POST /?foo=bar http/1.1
Date:Mon, 09 Sep 2011 23:36:00 GMT
Host:host.foo.com


"""#,
            canonicalRequest: #"""
POST
/
foo=bar
date:Mon, 09 Sep 2011 23:36:00 GMT
host:host.foo.com

date;host
e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
"""#,
            stringToSign: #"""
AWS4-HMAC-SHA256
20110909T233600Z
20110909/us-east-1/host/aws4_request
cd4f39132d8e60bb388831d734230460872b564871c47f5de62e62d1a68dbe1e
"""#,
            authorization: #"""
AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20110909/us-east-1/host/aws4_request, SignedHeaders=date;host, Signature=b6e3b79003ce0743a491606ba1035a804593b0efb1e20a11cba83f8c25a57a92
"""#
        ),
        // 2011 · boto/botocore @ 2db2e74fa tests/unit/auth/aws4_testsuite/post-vanilla-query.* (CRLF -> LF)
        Vector(
            name: "post-vanilla-query",
            edition: 2011,
            request: #"""
POST /?foo=bar http/1.1
Date:Mon, 09 Sep 2011 23:36:00 GMT
Host:host.foo.com


"""#,
            canonicalRequest: #"""
POST
/
foo=bar
date:Mon, 09 Sep 2011 23:36:00 GMT
host:host.foo.com

date;host
e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
"""#,
            stringToSign: #"""
AWS4-HMAC-SHA256
20110909T233600Z
20110909/us-east-1/host/aws4_request
cd4f39132d8e60bb388831d734230460872b564871c47f5de62e62d1a68dbe1e
"""#,
            authorization: #"""
AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20110909/us-east-1/host/aws4_request, SignedHeaders=date;host, Signature=b6e3b79003ce0743a491606ba1035a804593b0efb1e20a11cba83f8c25a57a92
"""#
        ),
        // 2011 · boto/botocore @ 2db2e74fa tests/unit/auth/aws4_testsuite/post-x-www-form-urlencoded.* (CRLF -> LF)
        // Has a body (`foo=bar`, no trailing newline) and no Content-Length header.
        Vector(
            name: "post-x-www-form-urlencoded",
            edition: 2011,
            request: #"""
POST / http/1.1
Content-Type:application/x-www-form-urlencoded
Date:Mon, 09 Sep 2011 23:36:00 GMT
Host:host.foo.com

foo=bar
"""#,
            canonicalRequest: #"""
POST
/

content-type:application/x-www-form-urlencoded
date:Mon, 09 Sep 2011 23:36:00 GMT
host:host.foo.com

content-type;date;host
3ba8907e7a252327488df390ed517c45b96dead033600219bdca7107d1d3f88a
"""#,
            stringToSign: #"""
AWS4-HMAC-SHA256
20110909T233600Z
20110909/us-east-1/host/aws4_request
4c5c6e4b52fb5fb947a8733982a8a5a61b14f04345cbfe6e739236c76dd48f74
"""#,
            authorization: #"""
AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20110909/us-east-1/host/aws4_request, SignedHeaders=content-type;date;host, Signature=5a15b22cf462f047318703b92e6f4f38884e4a7ab7b1d6426ca46a8bd1c26cbc
"""#
        ),
        // 2011 · boto/botocore @ 2db2e74fa tests/unit/auth/aws4_testsuite/post-x-www-form-urlencoded-parameters.* (CRLF -> LF)
        // Has a body (`foo=bar`, no trailing newline) and no Content-Length header.
        Vector(
            name: "post-x-www-form-urlencoded-parameters",
            edition: 2011,
            request: #"""
POST / http/1.1
Content-Type:application/x-www-form-urlencoded; charset=utf8
Date:Mon, 09 Sep 2011 23:36:00 GMT
Host:host.foo.com

foo=bar
"""#,
            canonicalRequest: #"""
POST
/

content-type:application/x-www-form-urlencoded; charset=utf8
date:Mon, 09 Sep 2011 23:36:00 GMT
host:host.foo.com

content-type;date;host
3ba8907e7a252327488df390ed517c45b96dead033600219bdca7107d1d3f88a
"""#,
            stringToSign: #"""
AWS4-HMAC-SHA256
20110909T233600Z
20110909/us-east-1/host/aws4_request
c4115f9e54b5cecf192b1eaa23b8e88ed8dc5391bd4fde7b3fff3d9c9fe0af1f
"""#,
            authorization: #"""
AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20110909/us-east-1/host/aws4_request, SignedHeaders=content-type;date;host, Signature=b105eb10c6d318d2294de9d49dd8b031b55e3c3fe139f2e637da70511e9e7b71
"""#
        ),
    ]
}
