/// Text made safe inside the documents Euca writes by hand.
public enum TextEscaping {
    /// For XML (libvirt's domains, the simulator's charts): the five characters XML gives
    /// meaning escaped, and control characters, which XML 1.0 does not allow, as spaces.
    public static func xml(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "'": out += "&apos;"
            case "\"": out += "&quot;"
            case "\t", "\n", "\r": out.unicodeScalars.append(scalar)
            // What XML 1.0 does not allow at all: other control characters, U+FFFE and U+FFFF.
            case "\u{0}"..."\u{1F}": out += " "
            case "\u{FFFE}", "\u{FFFF}": out += "\u{FFFD}"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    /// For the inside of a JSON string: quotes, backslashes and control characters escaped.
    public static func json(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out
    }

    /// For an error message quoting what a user gave: control characters shown as `?`, at most
    /// `limit` characters.
    public static func quoted(_ text: some StringProtocol, limit: Int = 64) -> String {
        String(String.UnicodeScalarView(text.prefix(limit).unicodeScalars.map { $0.properties.generalCategory == .control ? "?" : $0 }))
    }
}
