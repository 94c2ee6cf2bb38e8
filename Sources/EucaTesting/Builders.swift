public import EucaCore
public import EucaScheduler
import EucaNet

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

extension InstanceLaunch {
    /// A launch of one instance of `type` (m1.small unless told) in `zone`, with a boot spec that
    /// needs no image and a MAC of Eucalyptus' scheme: what a cluster controller is handed.
    public static func make(_ type: VMType = .small, zone: String = "zone-a") -> InstanceLaunch {
        let id = InstanceID.generate()
        return InstanceLaunch(
            instanceId: id, reservationId: .generate(), accountId: AccountID(rawValue: "123456789012"), vmType: type,
            imageId: .generate(.machine), boot: BootSpec(), macAddress: MACAddress.forInstance(id), zone: zone)
    }
}

extension VMType {
    /// Eucalyptus' m1.small.
    public static var small: VMType { VMTypeCatalog.eucalyptusDefaults["m1.small"]! }
    /// Eucalyptus' c1.xlarge.
    public static var xlarge: VMType { VMTypeCatalog.eucalyptusDefaults["c1.xlarge"]! }
}
