#if canImport(Glibc)
import Glibc
#endif

/// How a long-running daemon asks the C allocator to hold its memory.
///
/// glibc's malloc, left to itself, raises the size from which it maps a block on its own to the
/// largest block freed so far (up to 32 MiB), and the free space it keeps at a heap's top to
/// twice that. After one large answer — a DescribeInstances of 10,000 instances is a 12 MiB
/// document — buffers of that size come from the heap, and the freed space stays resident long
/// after the answer is gone; before that first large answer, it gives a heap's top back after
/// nearly every request and faults it in again on the next. A daemon holds a steady working set
/// with occasional large answers, so it fixes both: blocks from 4 MiB are mapped on their own
/// and unmapped when freed (above the 2 MiB that LMDB allocates for each nested write
/// transaction, below a large answer), and up to 4 MiB of free space stays at a heap's top
/// between requests. The arenas (one more for each thread that allocates while another does, up
/// to eight per core) are left as glibc has them: one arena for every thread held about 5% less
/// at 10,000 instances, and answered up to 20% fewer describe requests a second.
///
/// glibc also keeps every free page inside the heap until it is asked for them, where other
/// allocators (jemalloc, Go's runtime) hand them back a few seconds after they are freed.
/// ``returnFreePages()`` asks; each daemon runs a ``MemoryScavenger`` that does it periodically.
public enum ProcessMemory {
    /// The block size from which an allocation is mapped on its own and unmapped when freed.
    public static let mapThresholdBytes: Int32 = 4 << 20
    /// The free space a heap's top keeps between requests.
    public static let topFreeBytes: Int32 = 4 << 20

    /// Applies the settings, once, at start. A setting the operator made in the environment
    /// (`MALLOC_MMAP_THRESHOLD_`, `MALLOC_TRIM_THRESHOLD_`, read by glibc itself) is left as made.
    public static func tune(environment: [String: String]) {
        // `mallopt` is in <malloc.h>, which the Glibc module does not export; the parameter
        // numbers are glibc's (M_TRIM_THRESHOLD -1, M_MMAP_THRESHOLD -3).
        typealias Mallopt = @convention(c) (Int32, Int32) -> Int32
        guard let mallopt = symbol("mallopt", as: Mallopt.self) else { return }
        if environment["MALLOC_MMAP_THRESHOLD_"] == nil { _ = mallopt(-3, mapThresholdBytes) }
        if environment["MALLOC_TRIM_THRESHOLD_"] == nil { _ = mallopt(-1, topFreeBytes) }
    }

    /// Hands the allocator's wholly free pages back to the system (`malloc_trim(0)`), so the
    /// process's resident memory is what it holds rather than the most it ever held.
    public static func returnFreePages() {
        typealias Trim = @convention(c) (Int) -> Int32
        _ = symbol("malloc_trim", as: Trim.self)?(0)
    }

    private static func symbol<F>(_ name: String, as type: F.Type) -> F? {
        #if canImport(Glibc)
        guard let address = dlsym(UnsafeMutableRawPointer(bitPattern: 0), name) else { return nil }
        return unsafeBitCast(address, to: type)
        #else
        return nil
        #endif
    }
}

/// Runs `scavenge` every `interval` (ten seconds, jemalloc's default decay): by default it
/// returns the allocator's free pages to the system, and a daemon adds its stores' read pages
/// (`LMDBStateStore.releaseResidentPages`), so after a burst of launches or a large answer its
/// resident memory comes back down to what it holds.
public struct MemoryScavenger: Sendable {
    public let interval: Duration
    let clock: any EucaClock
    let scavenge: @Sendable () -> Void

    public init(interval: Duration = .seconds(10), clock: any EucaClock = SystemClock(), scavenge: @escaping @Sendable () -> Void = ProcessMemory.returnFreePages) {
        self.interval = interval
        self.clock = clock
        self.scavenge = scavenge
    }

    /// Scavenges every `interval` until the task is cancelled.
    public func run() async {
        while true {
            do { try await clock.sleep(for: interval) } catch { return }
            scavenge()
        }
    }
}
