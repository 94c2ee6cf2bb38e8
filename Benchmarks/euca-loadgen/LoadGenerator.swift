import ArgumentParser
import EucaSecurity
import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Drives an EC2 Query endpoint with N concurrent clients, each signing every request with SigV4
/// and waiting for its answer before sending the next, and prints one JSON line of results.
///
/// Each client is a thread with its own connection (kept alive when the server allows), so the
/// generator costs the same against every server it is pointed at.
@main
struct LoadGenerator: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "euca-loadgen", abstract: "Closed-loop SigV4 load against an EC2 Query endpoint.")

    @Option(help: "http://host:port") var endpoint: String
    @Option(help: "Access key id.") var accessKey: String
    @Option(help: "Secret access key.") var secretKey: String
    @Option(help: "Region to sign for.") var region = "us-east-1"
    @Option(help: "Concurrent clients.") var concurrency = 4
    @Option(help: "Seconds to run.") var duration = 10.0
    @Option(help: "Seconds of warm-up not counted.") var warmup = 1.0
    @Option(help: "Form parameters after Version, e.g. Action=DescribeInstances.") var body: String
    @Option(help: "Label for the output.") var label = "run"

    func run() throws {
        guard let url = URL(string: endpoint), let host = url.host, let port = url.port else {
            throw ValidationError("endpoint must be http://host:port")
        }
        let formBody = "Version=2016-11-15&" + body
        let results = Mutex<(latencies: [UInt64], errors: Int, statuses: [Int: Int])>(([], 0, [:]))
        let start = DispatchTime.now().uptimeNanoseconds
        let warmupEnd = start + UInt64(warmup * 1e9)
        let end = warmupEnd + UInt64(duration * 1e9)
        let group = DispatchGroup()
        let settings = (host, port, accessKey, secretKey, region)
        for _ in 0..<concurrency {
            group.enter()
            let thread = Thread {
                var client = HTTPClient(host: settings.0, port: settings.1)
                var latencies: [UInt64] = []
                var errors = 0
                var statuses: [Int: Int] = [:]
                latencies.reserveCapacity(100_000)
                while true {
                    let now = DispatchTime.now().uptimeNanoseconds
                    if now >= end { break }
                    var request = SignableRequest(
                        method: "POST", path: "/", query: "",
                        headers: [("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")],
                        body: Array(formBody.utf8))
                    SigV4.sign(&request, host: "\(settings.0):\(settings.1)", accessKeyId: settings.2, secret: settings.3, region: settings.4)
                    let status = client.send(request)
                    let done = DispatchTime.now().uptimeNanoseconds
                    if now >= warmupEnd {
                        statuses[status, default: 0] += 1
                        if status == 200 { latencies.append(done - now) } else { errors += 1 }
                    }
                }
                results.withLock { results in
                    results.latencies += latencies
                    results.errors += errors
                    for (status, count) in statuses { results.statuses[status, default: 0] += count }
                }
                group.leave()
            }
            thread.start()
        }
        group.wait()
        let (latencies, errors, statuses) = results.withLock { ($0.latencies.sorted(), $0.errors, $0.statuses) }
        func percentile(_ p: Double) -> Double {
            guard !latencies.isEmpty else { return 0 }
            let index = min(latencies.count - 1, Int((Double(latencies.count) * p).rounded(.up)) - 1)
            return Double(latencies[max(0, index)]) / 1e6
        }
        let line: [String: Any] = [
            "label": label, "ok": latencies.count, "errors": errors,
            "statuses": Dictionary(uniqueKeysWithValues: statuses.map { ("\($0.key)", $0.value) }),
            "rps": Double(latencies.count) / duration, "p50_ms": percentile(0.50), "p99_ms": percentile(0.99),
            "concurrency": concurrency, "seconds": duration,
        ]
        let data = try JSONSerialization.data(withJSONObject: line, options: [.sortedKeys])
        print(String(decoding: data, as: UTF8.self))
    }
}

/// A minimal blocking HTTP/1.1 client: one connection, reopened when the server closes it.
struct HTTPClient {
    let host: String
    let port: Int
    var socket: Int32 = -1
    var buffer = [UInt8](repeating: 0, count: 1 << 16)

    init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    mutating func connect() -> Bool {
        socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard socket >= 0 else { return false }
        var one: Int32 = 1
        setsockopt(socket, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        inet_pton(AF_INET, host == "localhost" ? "127.0.0.1" : host, &address.sin_addr)
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        if result != 0 {
            close(socket)
            socket = -1
            return false
        }
        return true
    }

    /// Sends the request and reads the whole response; returns the status, or 0 on a transport error.
    mutating func send(_ request: SignableRequest) -> Int {
        if socket < 0 && !connect() { return 0 }
        var head = "\(request.method) \(request.path) HTTP/1.1\r\n"
        for header in request.headers { head += "\(header.name): \(header.value)\r\n" }
        head += "Content-Length: \(request.body.count)\r\n\r\n"
        let bytes = Array(head.utf8) + request.body
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { Glibc.send(socket, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return reset() }
            sent += n
        }
        var received: [UInt8] = []
        var headerEnd = -1
        while headerEnd < 0 {
            let n = recv(socket, &buffer, buffer.count, 0)
            if n <= 0 { return reset() }
            received += buffer[0..<n]
            headerEnd = Self.find(received, [13, 10, 13, 10])
        }
        let headerText = String(decoding: received[0..<headerEnd], as: UTF8.self).lowercased()
        let statusLine = headerText.split(separator: "\r\n").first ?? ""
        let parts = statusLine.split(separator: " ")
        let status = parts.count > 1 ? Int(parts[1]) ?? 0 : 0
        var contentLength = -1
        for line in headerText.split(separator: "\r\n") where line.hasPrefix("content-length:") {
            contentLength = Int(line.dropFirst(15).trimmingCharacters(in: .whitespaces)) ?? -1
        }
        let closes = headerText.contains("connection: close") || statusLine.hasPrefix("http/1.0")
        var bodyBytes = received.count - headerEnd - 4
        if contentLength >= 0 {
            while bodyBytes < contentLength {
                let n = recv(socket, &buffer, buffer.count, 0)
                if n <= 0 { return reset() }
                bodyBytes += n
            }
        } else {
            while recv(socket, &buffer, buffer.count, 0) > 0 {}
            _ = reset()
            return status
        }
        if closes { _ = reset() }
        return status
    }

    mutating func reset() -> Int {
        if socket >= 0 { close(socket) }
        socket = -1
        return 0
    }

    static func find(_ haystack: [UInt8], _ needle: [UInt8]) -> Int {
        guard haystack.count >= needle.count else { return -1 }
        for index in 0...(haystack.count - needle.count) where haystack[index] == needle[0] {
            if Array(haystack[index..<index + needle.count]) == needle { return index }
        }
        return -1
    }
}
