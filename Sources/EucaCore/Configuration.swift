public import Foundation

/// A problem with one configuration value, before it is tied to a key and a place.
public struct ConfigProblem: Error, Sendable, Hashable {
    public var message: String
    public init(_ message: String) { self.message = message }
}

/// A configuration error that names the key and where its value came from.
public struct ConfigError: Error, Sendable, Hashable, CustomStringConvertible {
    public var key: String?
    public var source: ConfigSource
    public var message: String

    public init(key: String?, source: ConfigSource, message: String) {
        self.key = key
        self.source = source
        self.message = message
    }

    public var description: String {
        if let key { return "\(source): \(key): \(message)" }
        return "\(source): \(message)"
    }
}

/// Where a configuration value came from.
public enum ConfigSource: Sendable, Hashable, CustomStringConvertible {
    case file(path: String, line: Int)
    case environment
    case defaultValue

    public var description: String {
        switch self {
        case .file(let path, let line): "\(path):\(line)"
        case .environment: "environment"
        case .defaultValue: "default"
        }
    }
}

/// The documentation of one configuration key: what the operator's guide lists.
public struct ConfigKey: Sendable, Hashable {
    public var name: String
    public var type: String
    public var defaultValue: String
    public var summary: String

    public init(_ name: String, type: String, default defaultValue: String, _ summary: String) {
        self.name = name
        self.type = type
        self.defaultValue = defaultValue
        self.summary = summary
    }
}

/// The configuration of a daemon: an `eucalyptus.conf`-style file (`KEY="value"` lines, `#`
/// comments) with every key overridable by an environment variable of the same name.
///
/// Read once at start. Typed accessors turn values into settings and throw a `ConfigError` naming
/// the key, the file and the line when a value is bad.
public struct EucaConfig: Sendable {
    public struct Entry: Sendable, Hashable {
        public var value: String
        public var source: ConfigSource
    }

    /// The entries read from the file, by key.
    public private(set) var fileEntries: [String: Entry]
    /// The process environment used for overrides.
    public var environment: [String: String]
    /// The path of the file, when one was read.
    public var path: String?

    public init(fileEntries: [String: Entry] = [:], environment: [String: String] = [:], path: String? = nil) {
        self.fileEntries = fileEntries
        self.environment = environment
        self.path = path
    }

    /// Reads `path` (when given) and takes overrides from `environment`.
    ///
    /// A missing file is an error only when `required` is true (an operator named it).
    public static func load(
        path: String?, required: Bool = false,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws(ConfigError) -> EucaConfig {
        guard let path else { return EucaConfig(environment: environment) }
        guard FileManager.default.fileExists(atPath: path) else {
            if required {
                throw ConfigError(key: nil, source: .file(path: path, line: 0), message: "file not found")
            }
            return EucaConfig(environment: environment)
        }
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ConfigError(key: nil, source: .file(path: path, line: 0), message: "cannot be read as UTF-8 text (\(error))")
        }
        var config = try parse(text, path: path)
        config.environment = environment
        return config
    }

    /// Parses configuration text. Each non-blank, non-comment line is `KEY="value"`, `KEY='value'`
    /// or `KEY=value`, optionally after `export `.
    public static func parse(_ text: String, path: String) throws(ConfigError) -> EucaConfig {
        var entries: [String: Entry] = [:]
        var lineNumber = 0
        for rawLine in text.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNumber += 1
            var line = rawLine.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            if line.hasPrefix("export ") { line = String(line.dropFirst(7)).trimmingCharacters(in: .whitespaces) }
            let source = ConfigSource.file(path: path, line: lineNumber)
            guard let equals = line.firstIndex(of: "=") else {
                throw ConfigError(key: nil, source: source, message: "expected KEY=\"value\", found \"\(line)\"")
            }
            let key = String(line[..<equals]).trimmingCharacters(in: .whitespaces)
            guard isValidKey(key) else {
                throw ConfigError(key: nil, source: source, message: "\"\(key)\" is not a valid key (letters, digits and _)")
            }
            var value = String(line[line.index(after: equals)...]).trimmingCharacters(in: .whitespaces)
            if let quote = value.first, quote == "\"" || quote == "'" {
                guard value.count >= 2, value.last == quote else {
                    throw ConfigError(key: key, source: source, message: "unterminated quoted value")
                }
                value = String(value.dropFirst().dropLast())
            } else if let hash = value.firstIndex(of: "#") {
                value = String(value[..<hash]).trimmingCharacters(in: .whitespaces)
            }
            entries[key] = Entry(value: value, source: source)
        }
        return EucaConfig(fileEntries: entries, path: path)
    }

    static func isValidKey(_ key: String) -> Bool {
        guard let first = key.unicodeScalars.first, first == "_" || (first.isASCII && first.properties.isAlphabetic)
        else { return false }
        return key.unicodeScalars.allSatisfy { $0 == "_" || ($0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0))) }
    }

    /// The raw value of `key` and where it came from; the environment wins over the file.
    public func entry(_ key: String) -> Entry? {
        if let value = environment[key] { return Entry(value: value, source: .environment) }
        return fileEntries[key]
    }

    /// Keys in the file that are not in `known`, for a warning at start.
    public func unknownFileKeys(known: Set<String>) -> [String] {
        fileEntries.keys.filter { !known.contains($0) }.sorted()
    }

    // MARK: - Typed accessors

    /// A value converted by `convert`, which returns a problem for a bad value.
    public func value<T>(
        _ key: String, default defaultValue: T, _ convert: (String) -> Result<T, ConfigProblem>
    ) throws(ConfigError) -> T {
        guard let entry = entry(key) else { return defaultValue }
        switch convert(entry.value) {
        case .success(let value): return value
        case .failure(let problem): throw ConfigError(key: key, source: entry.source, message: problem.message)
        }
    }

    public func string(_ key: String, default defaultValue: String) throws(ConfigError) -> String {
        try value(key, default: defaultValue) { .success($0) }
    }

    /// A string that must not be empty when set.
    public func nonEmptyString(_ key: String, default defaultValue: String) throws(ConfigError) -> String {
        try value(key, default: defaultValue) { text in
            text.isEmpty ? .failure(ConfigProblem("must not be empty")) : .success(text)
        }
    }

    public func integer(_ key: String, default defaultValue: Int, in range: ClosedRange<Int>) throws(ConfigError) -> Int {
        try value(key, default: defaultValue) { text in
            guard let number = Int(text) else { return .failure(ConfigProblem("\"\(text)\" is not a whole number")) }
            guard range.contains(number) else {
                return .failure(ConfigProblem("\(number) is outside \(range.lowerBound)...\(range.upperBound)"))
            }
            return .success(number)
        }
    }

    /// An optional whole number: unset or empty gives nil.
    public func optionalInteger(_ key: String, in range: ClosedRange<Int>) throws(ConfigError) -> Int? {
        try value(key, default: nil) { text -> Result<Int?, ConfigProblem> in
            if text.isEmpty { return .success(nil) }
            guard let number = Int(text) else { return .failure(ConfigProblem("\"\(text)\" is not a whole number")) }
            guard range.contains(number) else {
                return .failure(ConfigProblem("\(number) is outside \(range.lowerBound)...\(range.upperBound)"))
            }
            return .success(number)
        }
    }

    /// A duration in seconds (a decimal number is allowed).
    public func seconds(_ key: String, default defaultValue: Double, in range: ClosedRange<Double>) throws(ConfigError) -> Double {
        try value(key, default: defaultValue) { text in
            guard let number = Double(text), number.isFinite else {
                return .failure(ConfigProblem("\"\(text)\" is not a number of seconds"))
            }
            guard range.contains(number) else {
                return .failure(ConfigProblem("\(number) is outside \(range.lowerBound)...\(range.upperBound) seconds"))
            }
            return .success(number)
        }
    }

    public func boolean(_ key: String, default defaultValue: Bool) throws(ConfigError) -> Bool {
        try value(key, default: defaultValue) { text in
            switch text.lowercased() {
            case "1", "y", "yes", "true", "on": .success(true)
            case "0", "n", "no", "false", "off": .success(false)
            default: .failure(ConfigProblem("\"\(text)\" is not a yes/no value"))
            }
        }
    }

    /// One of a fixed set of words, compared without regard to case; returns the canonical spelling.
    public func choice(_ key: String, default defaultValue: String, from choices: [String]) throws(ConfigError) -> String {
        try value(key, default: defaultValue) { text in
            if let match = choices.first(where: { $0.caseInsensitiveCompare(text) == .orderedSame }) {
                return .success(match)
            }
            return .failure(ConfigProblem("\"\(text)\" is not one of \(choices.joined(separator: ", "))"))
        }
    }

    /// A TCP port.
    public func port(_ key: String, default defaultValue: Int) throws(ConfigError) -> Int {
        try integer(key, default: defaultValue, in: 0...65535)
    }
}
