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
    /// spaces, each replacing or adding to this catalog. Returns a reason when the text is bad.
    public func applying(setting text: String) -> Result<VMTypeCatalog, ConfigProblem> {
        var catalog = self
        let entries = text.split(whereSeparator: { $0 == "," || $0 == " " || $0 == "\t" })
        for entry in entries {
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
        return .success(catalog)
    }
}
