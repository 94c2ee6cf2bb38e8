import EucaCloud
import EucaCore

/// One EC2 filter: a name and the values it accepts.
struct EC2Filter: Sendable, Hashable {
    var name: String
    var values: [String]
}

/// The filters one Describe action accepts, each as a function from a resource to the values it
/// is matched against.
///
/// EC2's semantics: a resource passes a filter if any of its values matches any of the filter's
/// values (`*` any run of characters, `?` any one, `\` escapes); it passes the request if it
/// passes every filter. A name EC2 documents for the action that names something this cloud's
/// resources do not have matches nothing; a name EC2 does not document is an error.
struct FilterSet<Resource>: Sendable {
    private(set) var fields: [String: @Sendable (Resource) -> [String]]
    /// The resource's id, for `tag:Key`, `tag-key` and `tag-value`; nil when it has no tags.
    let id: (@Sendable (Resource) -> String)?
    /// The names EC2's model documents for the action (``documentedFilters``).
    let documented: Set<String>

    init(_ action: String, fields: [String: @Sendable (Resource) -> [String]], id: (@Sendable (Resource) -> String)? = nil) {
        self.fields = fields
        self.id = id
        self.documented = documentedFilterSets[action] ?? []
    }

    /// This set with one more field, for one whose values a request has to look up first.
    func adding(_ name: String, _ field: @escaping @Sendable (Resource) -> [String]) -> FilterSet {
        var copy = self
        copy.fields[name] = field
        return copy
    }

    /// Compiles `filters`, throwing `InvalidParameterValue` for a name this resource lacks.
    /// `tags` supplies the tags that `tag:` filters match.
    func compile(_ filters: [EC2Filter], tags: [String: ResourceTags] = [:]) throws(EucaError) -> CompiledFilter<Resource> {
        var compiled: [(field: (Resource) -> [String], patterns: [WildcardPattern])] = []
        for filter in filters {
            let field: (Resource) -> [String]
            if let known = fields[filter.name] {
                field = known
            } else if let id, filter.name.hasPrefix("tag:") {
                let key = String(filter.name.dropFirst(4))
                field = { resource in tags[id(resource)]?.tags[key].map { [$0] } ?? [] }
            } else if let id, filter.name == "tag-key" {
                field = { resource in tags[id(resource)].map { Array($0.tags.keys) } ?? [] }
            } else if let id, filter.name == "tag-value" {
                field = { resource in tags[id(resource)].map { Array($0.tags.values) } ?? [] }
            } else if documented.contains(filter.name) {
                field = { _ in [] }
            } else {
                throw EucaError(.invalidParameter, .parameter, "The filter '\(filter.name.prefix(64))' is invalid")
            }
            compiled.append((field, filter.values.map(WildcardPattern.init)))
        }
        return CompiledFilter(filters: compiled)
    }
}

/// ``documentedFilters`` as sets, made once.
let documentedFilterSets: [String: Set<String>] = documentedFilters.mapValues(Set.init)

/// A filter field's values for something a resource may lack: none when it is absent.
@Sendable func present(_ value: String?) -> [String] {
    value.map { [$0] } ?? []
}

struct CompiledFilter<Resource> {
    let filters: [(field: (Resource) -> [String], patterns: [WildcardPattern])]

    var isEmpty: Bool { filters.isEmpty }

    func matches(_ resource: Resource) -> Bool {
        for filter in filters {
            let values = filter.field(resource)
            guard values.contains(where: { value in filter.patterns.contains { $0.matches(value) } }) else { return false }
        }
        return true
    }
}

/// An EC2 filter value: `*` and `?` wildcards, `\` escaping the next character.
struct WildcardPattern: Sendable, Hashable {
    enum Token: Hashable, Sendable { case literal(Character), any, one }
    let tokens: [Token]
    let literal: String?

    init(_ text: String) {
        var tokens: [Token] = []
        var escaped = false
        var plain = true
        for character in text {
            if escaped {
                tokens.append(.literal(character))
                escaped = false
            } else if character == "\\" {
                escaped = true
                plain = false
            } else if character == "*" {
                tokens.append(.any)
                plain = false
            } else if character == "?" {
                tokens.append(.one)
                plain = false
            } else {
                tokens.append(.literal(character))
            }
        }
        if escaped { tokens.append(.literal("\\")) }
        self.tokens = tokens
        self.literal = plain ? text : nil
    }

    func matches(_ value: String) -> Bool {
        if let literal { return literal == value }
        let characters = Array(value)
        // Iterative glob match with backtracking to the last `*`.
        var t = 0, c = 0
        var starToken = -1, starCharacter = 0
        while c < characters.count {
            if t < tokens.count {
                switch tokens[t] {
                case .literal(let expected) where expected == characters[c]:
                    t += 1
                    c += 1
                    continue
                case .one:
                    t += 1
                    c += 1
                    continue
                case .any:
                    starToken = t
                    starCharacter = c
                    t += 1
                    continue
                default:
                    break
                }
            }
            guard starToken >= 0 else { return false }
            t = starToken + 1
            starCharacter += 1
            c = starCharacter
        }
        while t < tokens.count, tokens[t] == .any { t += 1 }
        return t == tokens.count
    }
}
