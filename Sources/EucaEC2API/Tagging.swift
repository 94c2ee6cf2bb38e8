import EucaCloud
import EucaCore
import Foundation

extension QueryParameters {
    /// `Prefix.N.Key` / `Prefix.N.Value` pairs (a missing value is the empty string).
    func tags(_ prefix: String = "Tag") throws(EucaError) -> [Tag] {
        var tags: [Tag] = []
        for index in indices(prefix) {
            guard let key = values["\(prefix).\(index).Key"] else {
                throw EucaError(.missingParameter, .parameter, "The request must contain the parameter \(prefix).\(index).Key")
            }
            tags.append(Tag(key: key, value: values["\(prefix).\(index).Value"] ?? ""))
        }
        return tags
    }

    /// Tag keys with optional values, as DeleteTags takes them.
    func tagKeys(_ prefix: String = "Tag") throws(EucaError) -> [(key: String, value: String?)] {
        var keys: [(key: String, value: String?)] = []
        for index in indices(prefix) {
            guard let key = values["\(prefix).\(index).Key"] else {
                throw EucaError(.missingParameter, .parameter, "The request must contain the parameter \(prefix).\(index).Key")
            }
            keys.append((key, values["\(prefix).\(index).Value"]))
        }
        return keys
    }

    /// `TagSpecification.N.ResourceType` with its `Tag.M.Key/Value`, for the resource types the
    /// action creates.
    ///
    /// `uncreated` names resource types the call may be asked to tag but creates none of (a
    /// launch from an instance-store image makes no volume): their tags are checked, and there is
    /// nothing to put them on.
    func tagSpecifications(allowed: Set<TaggableType>, uncreated: Set<String> = []) throws(EucaError) -> [TaggableType: [Tag]] {
        var result: [TaggableType: [Tag]] = [:]
        for index in indices("TagSpecification") {
            let typeName = values["TagSpecification.\(index).ResourceType"] ?? ""
            if uncreated.contains(typeName) {
                _ = try tags("TagSpecification.\(index).Tag")
                continue
            }
            guard let type = TaggableType(rawValue: typeName), allowed.contains(type) else {
                throw EucaError(
                    .invalidParameter, .tag,
                    "'\(typeName)' is not a valid taggable resource type for this operation.")
            }
            result[type, default: []] += try tags("TagSpecification.\(index).Tag")
        }
        return result
    }
}

extension XMLWriter {
    /// `<tagSet>` with one item per tag, in key order (written even when empty, as EC2 does).
    mutating func tagSet(_ tags: [String: String]) {
        open("tagSet")
        for (key, value) in tags.sorted(by: { $0.key < $1.key }) {
            open("item")
            leaf("key", key)
            leaf("value", value)
            close("item")
        }
        close("tagSet")
    }
}

/// Where a paged Describe resumes, and how many items it may return.
struct Paging: Sendable {
    var maxResults: Int?
    /// The sort key of the last item already returned.
    var after: String?

    /// Reads `MaxResults` and `NextToken`; `MaxResults` must be within `range`.
    init(_ params: QueryParameters, range: ClosedRange<Int>) throws(EucaError) {
        if let max = try params.integer("MaxResults") {
            guard range.contains(max) else {
                throw EucaError(
                    .invalidParameter, .parameter,
                    "Value (\(max)) for parameter maxResults is invalid. Expecting a value between \(range.lowerBound) and \(range.upperBound).")
            }
            maxResults = max
        }
        if let token = params["NextToken"], !token.isEmpty {
            guard let key = Paging.decode(token) else {
                throw EucaError(.invalidParameter, .parameter, "The token '\(token.prefix(64))' is not a valid pagination token.")
            }
            after = key
        }
    }

    /// The items after the token, up to the limit, and the token for the next page (nil on the
    /// last). `items` must be sorted by `key`, ascending; because the token names a key rather than
    /// a position, pages stay consistent while items are added or removed between calls.
    func page<Item>(_ items: [Item], key: (Item) -> String) -> (items: ArraySlice<Item>, nextToken: String?) {
        // A string key always parses, so this cannot throw.
        (try? page(items, key: key, parse: { $0 }, format: { $0 })) ?? (items[...], nil)
    }

    /// The same for keys of any ordered type, written into tokens by `format` and read back by
    /// `parse` (nil for a token that does not name a key).
    func page<Item, Key: Comparable>(
        _ items: [Item], key: (Item) -> Key, parse: (String) -> Key?, format: (Key) -> String
    ) throws(EucaError) -> (items: ArraySlice<Item>, nextToken: String?) {
        var start = items.startIndex
        if let after {
            guard let afterKey = parse(after) else {
                throw EucaError(.invalidParameter, .parameter, "The pagination token is not valid for this request.")
            }
            // Binary search for the first key greater than the token's.
            var low = items.startIndex, high = items.endIndex
            while low < high {
                let middle = (low + high) / 2
                if key(items[middle]) <= afterKey { low = middle + 1 } else { high = middle }
            }
            start = low
        }
        guard let maxResults, items.count - start > maxResults else { return (items[start...], nil) }
        let end = start + maxResults
        return (items[start..<end], Paging.encode(format(key(items[end - 1]))))
    }

    static func encode(_ key: String) -> String {
        Data(("v1:" + key).utf8).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
    }

    static func decode(_ token: String) -> String? {
        var base64 = token.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64 += "=" }
        guard let data = Data(base64Encoded: base64), let text = String(data: data, encoding: .utf8), text.hasPrefix("v1:") else {
            return nil
        }
        return String(text.dropFirst(3))
    }
}
