/// The element paths of EC2's responses, from every version's element lists, read once from the
/// compact form `VersionSchemas.paths` holds.
struct ElementPaths: Sendable {
    /// The versions one element is defined in: each span from its first version up to, not
    /// including, its last (nil: every version since).
    struct Versions: Sendable {
        var spans: [(from: String, until: String?)]

        init(_ text: Substring) {
            spans = text.split(separator: ",").map { span in
                let from = String(span.prefix(10))
                let until = span.count > 11 ? String(span.dropFirst(11)) : nil
                return (from, until)
            }
        }

        func contains(_ version: String) -> Bool {
            spans.contains { version >= $0.from && ($0.until.map { version < $0 } ?? true) }
        }
    }

    struct Child: Sendable {
        /// The versions it is defined in; nil where it is defined wherever its parent is.
        var versions: Versions?
        /// Its own element list; nil for an element that holds only text.
        var node: Int?
    }

    /// Each response element's versions and element list.
    private(set) var roots: [String: (versions: Versions, node: Int)] = [:]
    /// Each element list: child name → child.
    private(set) var nodes: [[String: Child]] = []

    init(compact: String) {
        var index: [Substring: Int] = [:]
        var lines: [(path: Substring, words: ArraySlice<Substring>)] = []
        for line in compact.split(separator: "\n") {
            let words = line.split(separator: " ")
            guard var path = words.first else { continue }
            if let at = path.firstIndex(of: "@") {
                roots[String(path[..<at])] = (Versions(path[path.index(after: at)...]), lines.count)
                path = path[..<at]
            }
            index[path] = lines.count
            lines.append((path, words.dropFirst()))
        }
        nodes = lines.map { line in
            var children: [String: Child] = [:]
            for word in line.words {
                let at = word.firstIndex(of: "@")
                let name = at.map { word[..<$0] } ?? word
                children[String(name)] = Child(
                    versions: at.map { Versions(word[word.index(after: $0)...]) }, node: index[line.path + "/" + name])
            }
            return children
        }
    }
}

/// Shapes an answer to the API version the request named: elements that version's schema does not
/// define are left out, with everything inside them. EC2 added members over the years (`tagSet` in
/// 2010-08-31, `networkInterfaceSet` in 2011-12-01, `metadataOptions` in 2019…), and a client
/// written against an old version reads its own schema. The answers are written in the newest
/// shape; for an older version this pass takes out what it does not define.
///
/// A version without element lists of its own (2013-10-01) is shaped by the nearest earlier one
/// that has them. An action the version does not have at all (DescribeInstanceTypes before 2019)
/// is answered whole, and an element in a namespace of its own (Eucalyptus'
/// `instanceTypeDetails`) is kept as it is.
enum VersionShapes {
    /// Whether answers for `version` are shaped (every version before the one answers are written in).
    static func shapes(_ version: String) -> Bool { version < newest }

    /// The version answers are written in.
    static var newest: String { EC2API.defaultVersion }

    static let paths = ElementPaths(compact: VersionSchemas.paths)

    private enum Frame {
        /// An element list from the schema.
        case list(Int)
        /// An element that holds only text.
        case text
        /// An element outside the schema, kept whole.
        case free
    }

    /// `document` (a whole response this API wrote) with what `version` does not define left out.
    static func shape(_ document: [UInt8], version: String, paths: ElementPaths = paths) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(document.count)
        var open: [Frame] = []
        var rootSeen = false
        /// How deep inside a left-out element the scan is.
        var skipping = 0
        var index = 0
        let count = document.count
        while index < count {
            guard document[index] == UInt8(ascii: "<") else {
                if skipping == 0 { out.append(document[index]) }
                index += 1
                continue
            }
            guard let end = document[index...].firstIndex(of: UInt8(ascii: ">")) else {
                if skipping == 0 { out.append(contentsOf: document[index...]) }
                break
            }
            let tag = document[index...end]
            let start = index
            index = end + 1
            let second = document[start + 1]
            if second == UInt8(ascii: "?") || second == UInt8(ascii: "!") {
                if skipping == 0 { out.append(contentsOf: tag) }
                continue
            }
            if second == UInt8(ascii: "/") {
                if skipping > 0 {
                    skipping -= 1
                } else {
                    if !open.isEmpty { open.removeLast() }
                    out.append(contentsOf: tag)
                }
                continue
            }
            let empty = document[end - 1] == UInt8(ascii: "/")
            if skipping > 0 {
                if !empty { skipping += 1 }
                continue
            }
            let nameEnd = tag.firstIndex { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: ">") } ?? end
            let name = String(decoding: document[(start + 1)..<nameEnd], as: UTF8.self)
            let frame: Frame?
            if !rootSeen {
                rootSeen = true
                guard let root = paths.roots[name], root.versions.contains(version) else { return document }
                frame = .list(root.node)
            } else if nameEnd < end, String(decoding: document[nameEnd..<end], as: UTF8.self).contains("xmlns") {
                frame = .free
            } else {
                switch open.last {
                case .list(let node):
                    if let child = paths.nodes[node][name], child.versions?.contains(version) ?? true {
                        frame = child.node.map(Frame.list) ?? .text
                    } else {
                        frame = nil
                    }
                case .text: frame = nil
                case .free, nil: frame = .free
                }
            }
            guard let frame else {
                if !empty { skipping = 1 }
                continue
            }
            out.append(contentsOf: tag)
            if !empty { open.append(frame) }
        }
        return out
    }
}
