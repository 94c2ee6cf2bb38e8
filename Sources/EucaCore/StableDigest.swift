/// 128 bits that depend only on a text (FNV-1a 64, twice, from two offsets): for ids derived from
/// what they name (an account's default VPC, a user's id), the same on every call and restart.
/// Not a cryptographic hash: nothing secret is derived from it.
public enum StableDigest {
    public static func of(_ text: String) -> (high: UInt64, low: UInt64) {
        let bytes = Array(text.utf8)
        func fnv(_ offset: UInt64) -> UInt64 { bytes.reduce(offset) { ($0 ^ UInt64($1)) &* 0x100_0000_01b3 } }
        return (fnv(0xcbf2_9ce4_8422_2325), fnv(0x8422_2325_cbf2_9ce4))
    }

    /// `count` (at most 32) lowercase hex digits of the digest of `text`.
    public static func hex(_ text: String, count: Int) -> String {
        let (high, low) = of(text)
        func padded(_ value: UInt64) -> String {
            let digits = String(value, radix: 16)
            return String(repeating: "0", count: 16 - digits.count) + digits
        }
        return String((padded(high) + padded(low)).prefix(count))
    }

    /// `count` (at most 24) characters of the digest of `text` in base 32 (`A`–`Z`, `2`–`7`).
    public static func base32(_ text: String, count: Int) -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
        var (high, low) = of(text)
        var result = ""
        for index in 0..<count {
            if index < 12 {
                result.append(alphabet[Int(high & 31)])
                high >>= 5
            } else {
                result.append(alphabet[Int(low & 31)])
                low >>= 5
            }
        }
        return result
    }
}
