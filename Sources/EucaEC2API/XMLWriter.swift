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
        for byte in value.utf8 where byte == 0x26 || byte == 0x3C || byte == 0x3E || byte == 0x22 || byte == 0x27 || byte < 0x20 {
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
                if scalar.value < 0x20 {
                    out += "&#\(scalar.value);"  // not legal in XML 1.0, but never raw
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
        let millis = Int64((date.timeIntervalSince1970 * 1000).rounded(.down))
        let seconds = millis >= 0 ? millis / 1000 : (millis - 999) / 1000
        let fraction = Int(millis - seconds * 1000)
        let days = seconds >= 0 ? seconds / 86400 : (seconds - 86399) / 86400
        let secondOfDay = Int(seconds - days * 86400)
        let z = Int(days) + 719468
        let era = (z >= 0 ? z : z - 146096) / 146097
        let doe = z - era * 146097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yoe + era * 400 + (month <= 2 ? 1 : 0)
        return "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))T\(pad(secondOfDay / 3600, 2)):\(pad(secondOfDay / 60 % 60, 2)):\(pad(secondOfDay % 60, 2)).\(pad(fraction, 3))Z"
    }

    private static func pad(_ value: Int, _ width: Int) -> String {
        let text = String(value)
        return text.count >= width ? text : String(repeating: "0", count: width - text.count) + text
    }
}
