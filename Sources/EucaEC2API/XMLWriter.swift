import EucaCore
import Foundation

/// Builds an XML response by appending to a string; elements are written in call order.
struct XMLWriter {
    private(set) var text = ""

    init(capacity: Int = 1024) { text.reserveCapacity(capacity) }

    mutating func open(_ name: String) {
        text += "<"
        text += name
        text += ">"
    }

    mutating func close(_ name: String) {
        text += "</"
        text += name
        text += ">"
    }

    /// Appends text that is already escaped.
    mutating func appendRaw(_ escaped: String) { text += escaped }

    /// `<name>value</name>`, escaped.
    mutating func leaf(_ name: String, _ value: String) {
        open(name)
        Self.escape(value, into: &text)
        close(name)
    }

    mutating func leaf(_ name: String, _ value: Int) { leaf(name, String(value)) }
    mutating func leaf(_ name: String, _ value: Bool) { leaf(name, value ? "true" : "false") }

    /// `<name>value</name>` when there is a value, nothing otherwise.
    mutating func leaf(_ name: String, ifPresent value: String?) {
        if let value { leaf(name, value) }
    }

    /// `<name>` … `</name>` around what `body` writes.
    mutating func element(_ name: String, _ body: (inout XMLWriter) -> Void) {
        open(name)
        body(&self)
        close(name)
    }

    /// `<name><item>…</item>…</name>` for each element of `items`.
    mutating func set<S: Sequence>(_ name: String, _ items: S, _ body: (inout XMLWriter, S.Element) -> Void) {
        open(name)
        for item in items {
            open("item")
            body(&self, item)
            close("item")
        }
        close(name)
    }

    static func escape(_ value: String, into out: inout String) {
        var needsEscaping = false
        for byte in value.utf8 where byte == 0x26 || byte == 0x3C || byte == 0x3E || byte == 0x22 || byte == 0x27 || byte < 0x20 || byte == 0xEF {
            needsEscaping = true
            break
        }
        guard needsEscaping else {
            out += value
            return
        }
        for scalar in value.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            case "\n", "\r", "\t": out.unicodeScalars.append(scalar)
            default:
                if scalar.value < 0x20 || scalar.value == 0xFFFE || scalar.value == 0xFFFF {
                    // Not allowed in XML 1.0, even escaped: shown as the replacement character.
                    out += "\u{FFFD}"
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
    }
}

/// Time stamps as EC2 writes them: ISO 8601 in UTC with milliseconds.
enum EC2Time {
    static func format(_ date: Date) -> String {
        let t = UTCTime(date)
        return "\(UTCTime.pad(t.year, 4))-\(UTCTime.pad(t.month, 2))-\(UTCTime.pad(t.day, 2))T"
            + "\(UTCTime.pad(t.hour, 2)):\(UTCTime.pad(t.minute, 2)):\(UTCTime.pad(t.second, 2)).\(UTCTime.pad(t.millisecond, 3))Z"
    }
}
