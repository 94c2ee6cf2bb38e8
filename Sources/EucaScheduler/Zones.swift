public import EucaCore

extension ClusterSnapshot {
    /// The cloud's view when it chooses a zone: each zone is one entry whose id is the zone's name,
    /// with its nodes' totals and, as free room, exactly the room its nodes have for `type`
    /// (fragments too small for one instance are not counted). A policy written for nodes ranks
    /// zones with the same filters and scorers, and the same meaning.
    public static func zones(_ zones: [(zone: String, nodes: [NodeSnapshot])], for type: VMType, lastChosen: String? = nil) -> ClusterSnapshot {
        ClusterSnapshot(
            nodes: zones.map { zone, nodes in
                let slots = nodes.reduce(0) { $0 + $1.slots(for: type) }
                return NodeSnapshot(
                    id: NodeID(zone), totalCores: nodes.reduce(0) { $0 + $1.totalCores }, freeCores: slots * type.cores,
                    totalMemoryMiB: nodes.reduce(0) { $0 + $1.totalMemoryMiB }, freeMemoryMiB: slots * type.memoryMiB,
                    totalDiskGiB: nodes.reduce(0) { $0 + $1.totalDiskGiB }, freeDiskGiB: slots * type.diskGiB,
                    instances: nodes.reduce(0) { $0 + $1.instances }, isAwake: nodes.isEmpty || nodes.contains(where: \.isAwake))
            },
            lastChosen: lastChosen.map { NodeID($0) })
    }
}

extension NodeSnapshot {
    /// How many instances of `type` fit in the free room.
    public func slots(for type: VMType) -> Int {
        guard freeCores >= 0, freeMemoryMiB >= 0, freeDiskGiB >= 0 else { return 0 }
        return NodeResources.fits(type, cores: freeCores, memoryMiB: freeMemoryMiB, diskGiB: freeDiskGiB)
    }
}

/// Prefers the entry with room for the most instances of the requested type: the node, or the
/// zone, with the most room.
public struct MostRoomScorer: PlacementScorer {
    public let name = "most-room"
    public var weight: Double
    public init(weight: Double = 1) { self.weight = weight }

    public func score(_ node: NodeSnapshot, for request: PlacementRequest, in _: ClusterSnapshot) -> Double {
        Double(node.slots(for: request.vmType))
    }

    public var dependence: NodeDependence { .state }
}

extension PlacementPolicy {
    /// MOSTROOM: the node (or zone) with room for the most instances of the type, ties going to
    /// the first. The cloud chooses zones with it unless `ZONE_POLICY` names another, as
    /// Eucalyptus' cloud controller chose the zone with the most room.
    public static let mostRoom = PlacementPolicy(name: "MOSTROOM", filters: [CapacityFilter()], scorers: [MostRoomScorer()])
}
