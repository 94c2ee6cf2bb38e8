import EucaCore
import EucaScheduler

/// All hosts' power draw, kept exactly as hosts change: awake hosts counted by size (cores) and
/// cores in use, each count times that level's draw, plus the hosts asleep times their draw (no
/// float drift builds up over millions of events).
struct PowerLedger {
    /// Watts by size, then cores in use, for an awake host; empty without a power model.
    private let watts: [[Double]]
    private let sleepWatts: Double
    /// Each group's size, as an index into the sizes.
    private let sizeOf: [Int]
    private var awakeAtLevel: [[Int]]
    private var asleep = 0
    private(set) var watt = 0.0

    init(model: PowerModel?, groups: [(hosts: Int, cores: Int)], emptyHostsOff: Bool, sleepWatts: Double) {
        let sizes = Array(Set(groups.map(\.cores))).sorted()
        sizeOf = groups.map { group in sizes.firstIndex(of: group.cores)! }
        watts = model.map { model in
            sizes.map { cores in
                (0...cores).map { k in k == 0 && emptyHostsOff ? 0 : model.watts(utilization: Double(k) / Double(cores)) }
            }
        } ?? []
        self.sleepWatts = sleepWatts
        // Levels are kept only with a model to weigh them.
        var awake = model == nil ? [] : sizes.map { [Int](repeating: 0, count: $0 + 1) }
        if model != nil { for (index, group) in groups.enumerated() { awake[sizeOf[index]][0] += group.hosts } }
        awakeAtLevel = awake
        total()
    }

    var isModelled: Bool { !watts.isEmpty }

    /// An awake host of `group` went from `before` cores in use to `after`.
    mutating func move(_ group: Int, from before: Int, to after: Int) {
        guard isModelled else { return }
        let size = sizeOf[group]
        awakeAtLevel[size][level(size, before)] -= 1
        awakeAtLevel[size][level(size, after)] += 1
        total()
    }

    /// An empty host of `group` powered down, or woke.
    mutating func setAsleep(_ sleeping: Bool, _ group: Int) {
        guard isModelled else { return }
        awakeAtLevel[sizeOf[group]][0] += sleeping ? -1 : 1
        asleep += sleeping ? 1 : -1
        total()
    }

    private func level(_ size: Int, _ cores: Int) -> Int { min(awakeAtLevel[size].count - 1, max(0, cores)) }

    private mutating func total() {
        var sum = Double(asleep) * sleepWatts
        for (levels, draws) in zip(awakeAtLevel, watts) {
            for (count, draw) in zip(levels, draws) where count > 0 { sum += Double(count) * draw }
        }
        watt = sum
    }
}

/// Stranded capacity: free cores on hosts that have too little memory or disk left for the
/// smallest request seen so far, and free memory on hosts with too few cores or too little disk
/// for it. Each host's share is kept as it changes, so the totals cost nothing per event; a
/// smaller request than any before re-counts every host once.
struct StrandedLedger {
    private(set) var cores = 0
    private(set) var memoryMiB = 0
    /// The smallest request seen, in each resource.
    private var least = (cores: Int.max, memoryMiB: Int.max, diskGiB: Int.max)
    private var counted: [(cores: Int, memoryMiB: Int)]

    init(hosts: Int) {
        counted = [(cores: Int, memoryMiB: Int)](repeating: (0, 0), count: hosts)
    }

    /// Takes a request's sizes into the smallest seen; true when that changed (then every host
    /// must be counted again).
    mutating func see(_ type: VMType) -> Bool {
        let smaller = (min(least.cores, type.cores), min(least.memoryMiB, type.memoryMiB), min(least.diskGiB, type.diskGiB))
        guard smaller != least else { return false }
        least = smaller
        return true
    }

    /// Counts `node`, at `position`, as it is now.
    mutating func count(_ node: NodeSnapshot, at position: Int) {
        let strandsCores = node.freeMemoryMiB < least.memoryMiB || node.freeDiskGiB < least.diskGiB
        let strandsMemory = node.freeCores < least.cores || node.freeDiskGiB < least.diskGiB
        let now = (cores: strandsCores ? max(0, node.freeCores) : 0, memoryMiB: strandsMemory ? max(0, node.freeMemoryMiB) : 0)
        cores += now.cores - counted[position].cores
        memoryMiB += now.memoryMiB - counted[position].memoryMiB
        counted[position] = now
    }
}

/// Waits from arrival to start, exactly: zeros counted, the rest kept to be sorted at the end.
struct WaitLedger {
    private var zeros = 0
    private var waits: [Double] = []
    private var sorted = true

    mutating func record(_ wait: Double) {
        if wait > 0 {
            waits.append(wait)
            sorted = false
        } else {
            zeros += 1
        }
    }

    var delayed: Int { waits.count }

    /// The mean, and the median and 99th percentile, in seconds.
    mutating func summary() -> (mean: Double, p50: Double, p99: Double) {
        let total = zeros + waits.count
        guard total > 0 else { return (0, 0, 0) }
        return (waits.reduce(0, +) / Double(total), quantile(0.5), quantile(0.99))
    }

    /// The `q` quantile (nearest rank), in seconds; 0 with no launch.
    mutating func quantile(_ q: Double) -> Double {
        let total = zeros + waits.count
        guard total > 0 else { return 0 }
        if !sorted {
            waits.sort()
            sorted = true
        }
        let rank = max(1, Int((Double(total) * q).rounded(.up)))
        return rank <= zeros ? 0 : waits[rank - zeros - 1]
    }
}
