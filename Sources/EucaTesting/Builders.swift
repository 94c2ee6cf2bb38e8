public import EucaCore
public import EucaScheduler

extension NodeSnapshot {
    /// A node for placement tests: 8 cores, 8 GiB, 100 GiB disk unless told otherwise, all free
    /// unless the free amounts are given, running `instances` instances (none by default).
    public static func make(
        _ id: NodeID = NodeID("node-\(Int.random(in: 1000...9999))"), cores: Int = 8, memoryMiB: Int = 8192, diskGiB: Int = 100,
        freeCores: Int? = nil, freeMemoryMiB: Int? = nil, freeDiskGiB: Int? = nil, instances: Int = 0, isAwake: Bool = true
    ) -> NodeSnapshot {
        NodeSnapshot(
            id: id, totalCores: cores, freeCores: freeCores ?? cores, totalMemoryMiB: memoryMiB,
            freeMemoryMiB: freeMemoryMiB ?? memoryMiB, totalDiskGiB: diskGiB, freeDiskGiB: freeDiskGiB ?? diskGiB,
            instances: instances, isAwake: isAwake)
    }
}

extension VMType {
    /// Eucalyptus' m1.small.
    public static var small: VMType { VMTypeCatalog.eucalyptusDefaults["m1.small"]! }
    /// Eucalyptus' c1.xlarge.
    public static var xlarge: VMType { VMTypeCatalog.eucalyptusDefaults["c1.xlarge"]! }
}
