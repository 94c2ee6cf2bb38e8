import EucaCore
import Foundation

/// The parameters of an EC2 Query request (query string and form body together).
///
/// Numbered members (`Name.N`, `Name.N.Member`) are indexed once, as the request is read, so that
/// reading every list of a request costs time in proportion to its size.
struct QueryParameters: Sendable {
    private(set) var values: [String: String] = [:]
    /// Names that appeared more than once.
    private(set) var repeated: [String] = []
    /// The pairs read, including repeats, for the limit on their number.
    private(set) var count = 0
    /// `Name.N` values by `Name`, with their `N`.
    private var members: [String: [(index: Int, value: String)]] = [:]
    /// The `N`s of `Name.N.…` parameters, by `Name`.
    private var groups: [String: Set<Int>] = [:]

    /// The longest single value accepted (user data, the largest, is at most about 22 KB).
    static let maxValueBytes = 64 * 1024
    /// The most parameters one request may carry.
    static let maxParameters = 5_000
    /// EC2's own limits on filters: 50 per request, 200 values each.
    static let maxFilters = 50
    static let maxFilterValues = 200

    init(_ pairs: [(name: String, value: String)]) {
        count = pairs.count
        guard count <= Self.maxParameters else { return }
        for (name, value) in pairs {
            guard values[name] == nil else {
                repeated.append(name)
                continue
            }
            values[name] = value
            index(name, value)
        }
    }

    /// Files `name` under every numbered member it is part of: `A.1.B.2.C` is member 1 of `A`
    /// and member 2 of `A.1.B`.
    private mutating func index(_ name: String, _ value: String) {
        let parts = name.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count > 1 else { return }
        for position in 1..<parts.count {
            guard let number = Int(parts[position]) else { continue }
            let prefix = parts[..<position].joined(separator: ".")
            if position == parts.count - 1 {
                members[prefix, default: []].append((number, value))
            } else {
                groups[prefix, default: []].insert(number)
            }
        }
    }

    /// Refuses what no action accepts: too many parameters, a parameter given twice, or a value
    /// over the size limit.
    func checkShape() throws(EucaError) {
        guard count <= Self.maxParameters else {
            throw EucaError(.invalidParameter, .parameter, "A request may carry at most \(Self.maxParameters) parameters; this one has \(count).")
        }
        if let name = repeated.first {
            throw EucaError(.invalidParameter, .parameter, "The parameter \(name.prefix(100)) appears more than once.")
        }
        if let (name, _) = values.first(where: { $0.value.utf8.count > Self.maxValueBytes }) {
            throw EucaError(.invalidParameter, .parameter, "The value of \(name.prefix(100)) is longer than \(Self.maxValueBytes) bytes.")
        }
    }

    subscript(name: String) -> String? { values[name] }

    /// `name` with each list index written `N`: `NetworkInterface.1.SecurityGroupId.2` is
    /// `NetworkInterface.N.SecurityGroupId.N`. An index is what ``index(_:_:)`` files as one (an
    /// `Int`); a run of digits past that stays as it is, so no list reads it and it is refused.
    static func pattern(of name: String) -> String {
        guard name.utf8.contains(where: { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else { return name }
        return name.split(separator: ".", omittingEmptySubsequences: false)
            .map { part in Int(part) != nil ? "N" : part }
            .joined(separator: ".")
    }

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
            throw EucaError(.invalidParameter, .parameter, "Value (\(text.prefix(64))) for parameter \(name) is invalid. Expected an integer.")
        }
        return value
    }

    func boolean(_ name: String) throws(EucaError) -> Bool? {
        guard let text = values[name] else { return nil }
        switch text.lowercased() {
        case "true": return true
        case "false": return false
        default:
            throw EucaError(.invalidParameter, .parameter, "Value (\(text.prefix(64))) for parameter \(name) is invalid. Expected 'true' or 'false'.")
        }
    }

    /// A list parameter `Name.1`, `Name.2`, … in index order. Clients number from 1 (boto3) or
    /// from 0 (libcloud); both are read, and so is a bare `Name` (libcloud's get_key_pair sends one).
    func list(_ name: String) -> [String] {
        var indexed = members[name] ?? []
        if let bare = values[name] { indexed.append((Int.min, bare)) }
        return indexed.sorted { $0.index < $1.index }.map(\.value)
    }

    /// The indices `N` for which some `Name.N.…` parameter exists, sorted.
    func indices(_ name: String) -> [Int] {
        (groups[name] ?? []).sorted()
    }

    /// EC2 filters: `Filter.N.Name` with `Filter.N.Value.M`.
    func filters() throws(EucaError) -> [EC2Filter] {
        let numbers = indices("Filter")
        guard numbers.count <= Self.maxFilters else {
            throw EucaError(.limitExceeded, .filter, "The request uses too many filters (\(numbers.count)); the limit is \(Self.maxFilters).")
        }
        var filters: [EC2Filter] = []
        for index in numbers {
            guard let name = values["Filter.\(index).Name"], !name.isEmpty else {
                throw EucaError(.missingParameter, .parameter, "The request must contain the parameter Filter.\(index).Name")
            }
            let filterValues = list("Filter.\(index).Value")
            guard filterValues.count <= Self.maxFilterValues else {
                throw EucaError(
                    .limitExceeded, .filter, "The filter \(name.prefix(64)) has too many values (\(filterValues.count)); the limit is \(Self.maxFilterValues).")
            }
            filters.append(EC2Filter(name: name, values: filterValues))
        }
        return filters
    }
}
