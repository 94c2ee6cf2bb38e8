/// Text for XML documents (libvirt's domains, the simulator's charts): the five characters XML
/// gives meaning escaped, and control characters, which XML 1.0 does not allow, as spaces.
public enum XMLText {
    public static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "'": out += "&apos;"
            case "\"": out += "&quot;"
            case "\t", "\n", "\r": out.append(character)
            default:
                if let ascii = character.asciiValue, ascii < 0x20 { out += " " } else { out.append(character) }
            }
        }
        return out
    }
}
