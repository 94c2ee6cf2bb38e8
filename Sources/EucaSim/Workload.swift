public import EucaCore
import Foundation

/// A seeded generator (SplitMix64): the same seed gives the same numbers on every machine, so a
/// run is reproduced byte for byte.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in (0, 1]: never 0, so its logarithm is finite.
    public mutating func unit() -> Double {
        Double((next() >> 11) + 1) / Double(UInt64(1) << 53)
    }

    /// Exponentially distributed with mean `mean`.
    public mutating func exponential(mean: Double) -> Double {
        -log(unit()) * mean
    }
}

/// How long a VM lives.
public enum LifetimeDistribution: Sendable, Hashable {
    /// Exponential (memoryless) with this mean, in seconds.
    case exponential(mean: Double)
    /// Always this long.
    case fixed(Double)
    /// Uniform between the bounds.
    case uniform(Double, Double)
    /// Log-normal: `exp(N(mu, sigma))` seconds (heavy-tailed, as VM lifetimes in public traces are).
    case logNormal(mu: Double, sigma: Double)

    /// The mean, E[L].
    public var mean: Double {
        switch self {
        case .exponential(let mean): mean
        case .fixed(let value): value
        case .uniform(let low, let high): (low + high) / 2
        case .logNormal(let mu, let sigma): exp(mu + sigma * sigma / 2)
        }
    }

    /// A lifetime drawn, at most ``SimLimits/seconds``.
    func sample(_ random: inout SeededGenerator) -> Double {
        min(SimLimits.seconds, draw(&random))
    }

    private func draw(_ random: inout SeededGenerator) -> Double {
        switch self {
        case .exponential(let mean): return random.exponential(mean: mean)
        case .fixed(let value): return value
        case .uniform(let low, let high): return low + (high - low) * random.unit()
        case .logNormal(let mu, let sigma):
            // Box–Muller: one normal from two uniforms.
            let normal = sqrt(-2 * log(random.unit())) * cos(2 * Double.pi * random.unit())
            return exp(mu + sigma * normal)
        }
    }
}

/// One VM request of a workload: when it arrives, its type and how long it would run.
public struct VMArrival: Sendable, Hashable {
    public var time: Double
    public var vmType: VMType
    public var lifetime: Double
    /// The account launching it, for service levels (``SimServiceLevels``); nil: the default one.
    public var account: AccountID?
    /// The share of its cores it uses, 0…1 (for saturation and SLATAH); nil: all of them.
    public var cpuUtilization: Double?

    public init(time: Double, vmType: VMType, lifetime: Double, account: AccountID? = nil, cpuUtilization: Double? = nil) {
        self.time = time
        self.vmType = vmType
        self.lifetime = lifetime
        self.account = account
        self.cpuUtilization = cpuUtilization
    }
}

/// A stream of arrivals in time order. Readers of traces conform too; the engine pulls one
/// arrival at a time, so a trace is never held whole.
public protocol Workload: Sendable {
    /// The next arrival, or nil when the workload has no more.
    mutating func next() -> VMArrival?
}

/// Poisson arrivals at `rate` per second, each of a type drawn from `types` by weight and living
/// as `lifetime` says, until `until` seconds (or for ever), from `seed`.
public struct SyntheticWorkload: Workload {
    public var rate: Double
    public var lifetime: LifetimeDistribution
    public var types: [(type: VMType, weight: Double)]
    public var until: Double?
    /// How many accounts launch, each arrival's drawn evenly (accounts 000000000001 upwards);
    /// with one, arrivals name no account.
    public var accounts: Int
    private var random: SeededGenerator
    private var clock = 0.0
    private let totalWeight: Double

    public init(
        rate: Double, lifetime: LifetimeDistribution, types: [(type: VMType, weight: Double)], until: Double? = nil, accounts: Int = 1,
        seed: UInt64
    ) {
        precondition(rate > 0 && !types.isEmpty && accounts >= 1, "a workload needs a positive rate, a VM type and an account")
        self.rate = rate
        self.accounts = accounts
        self.lifetime = lifetime
        self.types = types
        self.until = until
        random = SeededGenerator(seed: seed)
        totalWeight = types.reduce(0) { $0 + max(0, $1.weight) }
    }

    public mutating func next() -> VMArrival? {
        clock += random.exponential(mean: 1 / rate)
        if let until, clock > until { return nil }
        var pick = random.unit() * totalWeight
        var chosen = types[types.count - 1].type
        for entry in types {
            pick -= max(0, entry.weight)
            if pick <= 0 {
                chosen = entry.type
                break
            }
        }
        let lifetime = lifetime.sample(&random)
        guard accounts > 1 else { return VMArrival(time: clock, vmType: chosen, lifetime: lifetime) }
        let account = 1 + Int(random.next() % UInt64(accounts))
        return VMArrival(time: clock, vmType: chosen, lifetime: lifetime, account: AccountID(rawValue: String(1_000_000_000_000 + account).dropFirst().description))
    }
}

/// The bounds every input to the simulator is held to, so that no figure overflows: hosts and
/// their sizes, and times.
public enum SimLimits {
    public static let hosts = 10_000_000
    public static let cores = 100_000
    public static let memoryMiB = 1 << 36
    public static let diskGiB = 1 << 36
    /// 10^12 seconds: any time or lifetime.
    public static let seconds = 1e12
    /// The shortest interval of a periodic event (sampling, reviews, migrations): a millisecond.
    public static let interval = 1e-3
}
