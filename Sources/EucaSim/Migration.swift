public import EucaCore
public import EucaScheduler

/// A running VM as a migration policy sees it.
public struct SimVM: Sendable, Hashable {
    /// Its slot: the handle a migration names it by.
    public var slot: Int
    public var vmType: VMType
    /// The position of its host in the cluster's snapshot.
    public var host: Int
    /// The share of its cores it uses (1 where the workload says nothing).
    public var cpuUtilization: Double

    public init(slot: Int, vmType: VMType, host: Int, cpuUtilization: Double) {
        self.slot = slot
        self.vmType = vmType
        self.host = host
        self.cpuUtilization = cpuUtilization
    }
}

/// Moves running VMs between hosts, asked every `interval` simulated seconds: live migration,
/// which Euca's cloud does not do, for researchers to study what it would buy. Like placement,
/// a pure function of what it is given.
///
/// The engine carries out each move whose VM still runs and whose target is another awake host
/// with room for it: the VM's room moves at once, and the move takes `memoryMiB` over the
/// simulation's migration bandwidth, during which the VM runs 10 % slower (the degradation
/// Beloglazov and Buyya's PDM counts).
public protocol MigrationPolicy: Sendable {
    var name: String { get }
    var interval: Double { get }
    /// The moves to make now: each VM's slot and the position of its new host.
    func migrations(_ cluster: ClusterSnapshot, vms: [SimVM]) -> [(slot: Int, to: Int)]
}

/// Consolidation: every active host whose allocated cores are under `underload` of its own is
/// emptied, when all its VMs fit on busier hosts (the fullest first), so that it can go idle —
/// and, under POWERSAVE's timings, be powered down. Hosts are drained from the least loaded up;
/// a host chosen to be drained takes no VM.
public struct ConsolidationPolicy: MigrationPolicy {
    public let name = "consolidate"
    public var interval: Double
    public var underload: Double

    public init(interval: Double = 300, underload: Double = 0.3) {
        self.interval = interval
        self.underload = underload
    }

    public func migrations(_ cluster: ClusterSnapshot, vms: [SimVM]) -> [(slot: Int, to: Int)] {
        let nodes = cluster.nodes
        var byHost: [Int: [SimVM]] = [:]
        for vm in vms { byHost[vm.host, default: []].append(vm) }
        func share(_ node: NodeSnapshot) -> Double {
            node.totalCores > 0 ? Double(node.totalCores - node.freeCores) / Double(node.totalCores) : 1
        }
        let active = byHost.keys.filter { nodes[$0].isAwake }.sorted { (share(nodes[$0]), $0) < (share(nodes[$1]), $1) }
        var free = Dictionary(uniqueKeysWithValues: active.map { ($0, (nodes[$0].freeCores, nodes[$0].freeMemoryMiB, nodes[$0].freeDiskGiB)) })
        var draining = Set<Int>()
        var moves: [(slot: Int, to: Int)] = []
        for source in active where share(nodes[source]) < underload {
            // Targets: busier active hosts not being drained, the fullest first.
            let targets = active.reversed().filter { $0 != source && !draining.contains($0) && share(nodes[$0]) >= share(nodes[source]) }
            var room = free
            var planned: [(slot: Int, to: Int)] = []
            for vm in byHost[source]!.sorted(by: { ($0.vmType.cores, $0.slot) > ($1.vmType.cores, $1.slot) }) {
                guard let target = targets.first(where: { target in
                    let left = room[target]!
                    return left.0 >= vm.vmType.cores && left.1 >= vm.vmType.memoryMiB && left.2 >= vm.vmType.diskGiB
                }) else { break }
                room[target]!.0 -= vm.vmType.cores
                room[target]!.1 -= vm.vmType.memoryMiB
                room[target]!.2 -= vm.vmType.diskGiB
                planned.append((vm.slot, target))
            }
            guard planned.count == byHost[source]!.count else { continue }
            draining.insert(source)
            free = room
            moves += planned
        }
        return moves
    }
}

/// CPU demand on each host and the time each spends saturated (demand at or above its physical
/// cores): Beloglazov and Buyya's SLATAH, the mean over hosts of their saturated share of the
/// time they were active. Demand is kept in thousandths of a core, so it adds up exactly.
struct SaturationLedger {
    private var demand: [Int]
    private var running: [Int]
    private var since: [Double]
    private var activeTime: [Double]
    private var saturatedTime: [Double]
    /// Each host's physical cores, in thousandths.
    private let capacity: [Int]
    /// All hosts' demand, thousandths of a core.
    private(set) var total = 0

    /// Hosts of `capacities` physical cores each.
    init(capacities: [Int]) {
        let hosts = capacities.count
        demand = [Int](repeating: 0, count: hosts)
        running = [Int](repeating: 0, count: hosts)
        since = [Double](repeating: 0, count: hosts)
        activeTime = [Double](repeating: 0, count: hosts)
        saturatedTime = [Double](repeating: 0, count: hosts)
        capacity = capacities.map { $0 * 1000 }
    }

    /// A VM using `milliCores` starts (or, negative, stops) on `host` at `time`.
    mutating func change(_ host: Int, by milliCores: Int, vms: Int, at time: Double) {
        let span = time - since[host]
        if running[host] > 0 { activeTime[host] += span }
        if running[host] > 0, demand[host] >= capacity[host] { saturatedTime[host] += span }
        since[host] = time
        demand[host] += milliCores
        total += milliCores
        running[host] += vms
    }

    /// SLATAH at `time`: the mean, over hosts that were ever active, of the share of their
    /// active time spent saturated.
    func slatah(at time: Double) -> Double {
        var sum = 0.0, hosts = 0
        for host in demand.indices {
            var active = activeTime[host], saturated = saturatedTime[host]
            if running[host] > 0 {
                active += time - since[host]
                if demand[host] >= capacity[host] { saturated += time - since[host] }
            }
            guard active > 0 else { continue }
            sum += saturated / active
            hosts += 1
        }
        return hosts > 0 ? sum / Double(hosts) : 0
    }
}
