/// A VM type: the name users pass as `InstanceType` and the resources it takes on a node.
public struct VMType: Sendable, Codable, Hashable, Comparable {
    public var name: String
    public var cores: Int
    public var memoryMiB: Int
    public var diskGiB: Int

    public init(name: String, cores: Int, memoryMiB: Int, diskGiB: Int) {
        self.name = name
        self.cores = cores
        self.memoryMiB = memoryMiB
        self.diskGiB = diskGiB
    }

    /// Ordered by size, then name, as Eucalyptus lists them.
    public static func < (lhs: VMType, rhs: VMType) -> Bool {
        (lhs.cores, lhs.memoryMiB, lhs.diskGiB, lhs.name) < (rhs.cores, rhs.memoryMiB, rhs.diskGiB, rhs.name)
    }
}

/// The VM types a cloud offers.
public struct VMTypeCatalog: Sendable, Hashable {
    public private(set) var types: [VMType]

    /// Eucalyptus' defaults: m1.small, c1.medium, m1.large, m1.xlarge, c1.xlarge.
    public static let eucalyptusDefaults = VMTypeCatalog(types: [
        VMType(name: "m1.small", cores: 1, memoryMiB: 128, diskGiB: 2),
        VMType(name: "c1.medium", cores: 1, memoryMiB: 256, diskGiB: 5),
        VMType(name: "m1.large", cores: 2, memoryMiB: 512, diskGiB: 10),
        VMType(name: "m1.xlarge", cores: 2, memoryMiB: 1024, diskGiB: 20),
        VMType(name: "c1.xlarge", cores: 4, memoryMiB: 2048, diskGiB: 20),
    ])

    /// Today's common AWS names, sized as AWS sizes them (vCPUs and memory), with an 8 GiB root
    /// disk each: t2, t3 and t3a from nano to 2xlarge, m5, c5 and r5 from large to 4xlarge. A
    /// script or playbook written for EC2 that asks for `t3.micro` runs unchanged.
    public static let awsCommon: VMTypeCatalog = {
        func gib(_ value: Double) -> Int { Int(value * 1024) }
        let burstable: [(size: String, t2: (Int, Double), t3: (Int, Double))] = [
            ("nano", (1, 0.5), (2, 0.5)), ("micro", (1, 1), (2, 1)), ("small", (1, 2), (2, 2)), ("medium", (2, 4), (2, 4)),
            ("large", (2, 8), (2, 8)), ("xlarge", (4, 16), (4, 16)), ("2xlarge", (8, 32), (8, 32)),
        ]
        var types: [VMType] = []
        for row in burstable {
            types.append(VMType(name: "t2.\(row.size)", cores: row.t2.0, memoryMiB: gib(row.t2.1), diskGiB: 8))
            for family in ["t3", "t3a"] {
                types.append(VMType(name: "\(family).\(row.size)", cores: row.t3.0, memoryMiB: gib(row.t3.1), diskGiB: 8))
            }
        }
        // GiB of memory per vCPU in each family.
        for (family, perCore) in [("m5", 4.0), ("c5", 2.0), ("r5", 8.0)] {
            for (size, cores) in [("large", 2), ("xlarge", 4), ("2xlarge", 8), ("4xlarge", 16)] {
                types.append(VMType(name: "\(family).\(size)", cores: cores, memoryMiB: gib(perCore * Double(cores)), diskGiB: 8))
            }
        }
        return VMTypeCatalog(types: types)
    }()

    /// What a cloud offers unless `VM_TYPES` says otherwise: Eucalyptus' five and ``awsCommon``.
    public static let standard = VMTypeCatalog(types: eucalyptusDefaults.types + awsCommon.types)

    public init(types: [VMType]) {
        self.types = types.sorted()
    }

    public subscript(name: String) -> VMType? {
        types.first { $0.name == name }
    }

    /// The catalog with `type` added, or replacing the type of the same name.
    public func setting(_ type: VMType) -> VMTypeCatalog {
        VMTypeCatalog(types: types.filter { $0.name != type.name } + [type])
    }

    /// Parses the `VM_TYPES` setting: `name:cores:memoryMiB:diskGiB` entries separated by commas or
    /// spaces, each replacing or adding to this catalog, and `-name` entries, each removing a type
    /// (`-t2.*` removes every name the pattern's `*` matches). Returns a reason when the text is bad.
    public func applying(setting text: String) -> Result<VMTypeCatalog, ConfigProblem> {
        var catalog = self
        let entries = text.split(whereSeparator: { $0 == "," || $0 == " " || $0 == "\t" })
        for entry in entries {
            if entry.hasPrefix("-") {
                let pattern = entry.dropFirst()
                let removed = catalog.types.filter { Self.name($0.name, matches: pattern) }
                guard !pattern.isEmpty, !removed.isEmpty else {
                    return .failure(ConfigProblem("entry \"\(entry)\" removes no type: none is named \(pattern)"))
                }
                catalog = VMTypeCatalog(types: catalog.types.filter { !Self.name($0.name, matches: pattern) })
                continue
            }
            let parts = entry.split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count == 4, !parts[0].isEmpty,
                let cores = Int(parts[1]), let memory = Int(parts[2]), let disk = Int(parts[3]),
                cores > 0, memory > 0, disk >= 0
            else {
                return .failure(ConfigProblem(
                    "entry \"\(entry)\" is not name:cores:memoryMiB:diskGiB with positive numbers"))
            }
            catalog = catalog.setting(VMType(name: String(parts[0]), cores: cores, memoryMiB: memory, diskGiB: disk))
        }
        guard !catalog.types.isEmpty else { return .failure(ConfigProblem("no VM type is left")) }
        return .success(catalog)
    }

    /// Whether `name` is `pattern`, or, for a pattern ending in `*`, starts with what is before it.
    private static func name(_ name: String, matches pattern: Substring) -> Bool {
        pattern.hasSuffix("*") ? name.hasPrefix(pattern.dropLast()) : name == pattern
    }
}
