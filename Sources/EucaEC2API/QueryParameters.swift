import EucaCore
import Foundation

/// The parameters of an EC2 Query request (query string and form body together).
struct QueryParameters: Sendable {
    private(set) var values: [String: String] = [:]
    /// Names that appeared more than once.
    private(set) var repeated: [String] = []

    /// The longest single value accepted (user data, the largest, is at most about 22 KB).
    static let maxValueBytes = 64 * 1024

    init(_ pairs: [(name: String, value: String)]) {
        for (name, value) in pairs {
            if values[name] == nil { values[name] = value } else { repeated.append(name) }
        }
    }

    /// Refuses what no action accepts: a parameter given twice, or a value over the size limit.
    func checkShape() throws(EucaError) {
        if let name = repeated.first {
            throw EucaError(.invalidParameter, .parameter, "The parameter \(name.prefix(100)) appears more than once.")
        }
        if let (name, _) = values.first(where: { $0.value.utf8.count > Self.maxValueBytes }) {
            throw EucaError(.invalidParameter, .parameter, "The value of \(name.prefix(100)) is longer than \(Self.maxValueBytes) bytes.")
        }
    }

    subscript(name: String) -> String? { values[name] }

    /// A required string parameter.
    func required(_ name: String) throws(EucaError) -> String {
        guard let value = values[name], !value.isEmpty else {
            throw EucaError(.missingParameter, .parameter, "The request must contain the parameter \(name)")
        }
        return value
    }

    func integer(_ name: String) throws(EucaError) -> Int? {
        guard let text = values[name] else { return nil }
        guard let value = Int(text) else {
            throw EucaError(.invalidParameter, .parameter, "Value (\(text)) for parameter \(name) is invalid. Expected an integer.")
        }
        return value
    }

    func boolean(_ name: String) throws(EucaError) -> Bool? {
        guard let text = values[name] else { return nil }
        switch text.lowercased() {
        case "true": return true
        case "false": return false
        default:
            throw EucaError(.invalidParameter, .parameter, "Value (\(text)) for parameter \(name) is invalid. Expected 'true' or 'false'.")
        }
    }

    /// A list parameter `Name.1`, `Name.2`, … in index order. Clients number from 1 (boto3) or
    /// from 0 (libcloud); both are read, and so is a bare `Name` (libcloud's get_key_pair sends one).
    func list(_ name: String) -> [String] {
        let prefix = name + "."
        var indexed: [(Int, String)] = []
        if let bare = values[name] { indexed.append((Int.min, bare)) }
        for (key, value) in values where key.hasPrefix(prefix) {
            let rest = key.dropFirst(prefix.count)
            if let index = Int(rest) { indexed.append((index, value)) }
        }
        return indexed.sorted { $0.0 < $1.0 }.map(\.1)
    }

    /// The indices `N` for which some `Name.N.…` parameter exists, sorted.
    func indices(_ name: String) -> [Int] {
        let prefix = name + "."
        var found = Set<Int>()
        for key in values.keys where key.hasPrefix(prefix) {
            let rest = key.dropFirst(prefix.count)
            if let dot = rest.firstIndex(of: "."), let index = Int(rest[..<dot]) { found.insert(index) }
        }
        return found.sorted()
    }

    /// EC2 filters: `Filter.N.Name` with `Filter.N.Value.M`.
    func filters() throws(EucaError) -> [EC2Filter] {
        var filters: [EC2Filter] = []
        for index in indices("Filter") {
            guard let name = values["Filter.\(index).Name"], !name.isEmpty else {
                throw EucaError(.missingParameter, .parameter, "The request must contain the parameter Filter.\(index).Name")
            }
            filters.append(EC2Filter(name: name, values: list("Filter.\(index).Value")))
        }
        return filters
    }
}
