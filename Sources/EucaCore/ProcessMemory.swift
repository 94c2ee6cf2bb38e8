#if canImport(Glibc)
import Glibc
#endif

/// How a long-running daemon asks the C allocator to hold its memory.
///
/// glibc's malloc, left to itself, raises the size from which it maps a block on its own to the
/// largest block freed so far (up to 32 MiB), and the size of free space it keeps at the heap's
/// top to twice that. After one large answer — a DescribeInstances of 10,000 instances is a
/// 12 MiB document — buffers of that size come from the heap, and the freed space stays
/// resident long after the answer is gone. A daemon holds a steady working set with occasional
/// large answers, so it fixes the threshold at 4 MiB (above the 2 MiB that LMDB allocates for
/// each nested write transaction, below a large answer), which also keeps the top's free space
/// at glibc's default of 128 KiB.
public enum ProcessMemory {
    /// The block size from which an allocation is mapped on its own and unmapped when freed.
    public static let mapThresholdBytes: Int32 = 4 << 20
    /// Applies the setting, once, at start. A threshold the operator set in the environment
    /// (`MALLOC_MMAP_THRESHOLD_`, read by glibc itself) is left as set.
    public static func tune(environment: [String: String]) {
        #if canImport(Glibc)
        // `mallopt` is in <malloc.h>, which the Glibc module does not export; the parameter
        // number is glibc's (M_MMAP_THRESHOLD, -3).
        typealias Mallopt = @convention(c) (Int32, Int32) -> Int32
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "mallopt") else { return }
        let mallopt = unsafeBitCast(symbol, to: Mallopt.self)
        if environment["MALLOC_MMAP_THRESHOLD_"] == nil { _ = mallopt(-3, mapThresholdBytes) }
        #endif
    }
}
