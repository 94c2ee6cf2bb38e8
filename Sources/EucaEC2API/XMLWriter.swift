import EucaCore
import Foundation

/// Builds an XML response by appending UTF-8 bytes; elements are written in call order.
struct XMLWriter {
    private(set) var bytes: [UInt8] = []

    init(capacity: Int = 1024) { bytes.reserveCapacity(capacity) }

    /// The document so far, as text.
    var text: String { String(decoding: bytes, as: UTF8.self) }

    @inline(__always)
    private mutating func append(_ string: String) {
        var string = string
        string.withUTF8 { bytes.append(contentsOf: $0) }
    }

    mutating func open(_ name: String) {
        bytes.append(UInt8(ascii: "<"))
        append(name)
        bytes.append(UInt8(ascii: ">"))
    }

    mutating func close(_ name: String) {
        bytes.append(UInt8(ascii: "<"))
        bytes.append(UInt8(ascii: "/"))
        append(name)
        bytes.append(UInt8(ascii: ">"))
    }

    /// Appends `value` as escaped text.
    mutating func text(_ value: String) { Self.escape(value, into: &bytes) }

    /// Appends text that is already escaped.
    mutating func appendRaw(_ escaped: String) { append(escaped) }

    /// `<name>value</name>`, escaped.
    mutating func leaf(_ name: String, _ value: String) {
        open(name)
        Self.escape(value, into: &bytes)
        close(name)
    }

    mutating func leaf(_ name: String, _ value: Int) {
        open(name)
        append(String(value))
        close(name)
    }

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

    /// Escapes `value` for XML text into `out`. Characters XML 1.0 does not allow at all (control
    /// characters other than tab and line ends, U+FFFE, U+FFFF) become U+FFFD.
    static func escape(_ value: String, into out: inout [UInt8]) {
        var value = value
        value.withUTF8 { utf8 in
            var clean = true
            for byte in utf8 where byte == 0x26 || byte == 0x3C || byte == 0x3E || byte == 0x22 || byte == 0x27 || byte < 0x20 || byte == 0xEF {
                clean = false
                break
            }
            if clean {
                out.append(contentsOf: utf8)
                return
            }
            for scalar in String(decoding: utf8, as: UTF8.self).unicodeScalars {
                switch scalar {
                case "&": out.append(contentsOf: "&amp;".utf8)
                case "<": out.append(contentsOf: "&lt;".utf8)
                case ">": out.append(contentsOf: "&gt;".utf8)
                case "\"": out.append(contentsOf: "&quot;".utf8)
                case "'": out.append(contentsOf: "&apos;".utf8)
                case "\n", "\r", "\t": out.append(UInt8(scalar.value))
                default:
                    if scalar.value < 0x20 || scalar.value == 0xFFFE || scalar.value == 0xFFFF {
                        out.append(contentsOf: "\u{FFFD}".utf8)
                    } else {
                        out.append(contentsOf: String(scalar).utf8)
                    }
                }
            }
        }
    }
}

/// Time stamps as EC2 writes them: ISO 8601 in UTC with milliseconds.
enum EC2Time {
    /// `milliseconds: false` gives IAM's form, to the second.
    static func format(_ date: Date, milliseconds: Bool = true) -> String {
        let t = UTCTime(date)
        return "\(UTCTime.pad(t.year, 4))-\(UTCTime.pad(t.month, 2))-\(UTCTime.pad(t.day, 2))T"
            + "\(UTCTime.pad(t.hour, 2)):\(UTCTime.pad(t.minute, 2)):\(UTCTime.pad(t.second, 2))"
            + (milliseconds ? ".\(UTCTime.pad(t.millisecond, 3))Z" : "Z")
    }
}
