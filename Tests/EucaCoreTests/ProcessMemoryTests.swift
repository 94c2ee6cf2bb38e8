import EucaCore
import EucaTesting
import Foundation
import Synchronization
import Testing

@Suite struct ProcessMemoryTests {
    @Test func theScavengerReturnsPagesOncePerIntervalUntilCancelled() async {
        let clock = ManualClock()
        let runs = Mutex(0)
        let scavenger = MemoryScavenger(interval: .seconds(10), clock: clock, scavenge: { runs.withLock { $0 += 1 } })
        let task = Task { await scavenger.run() }
        await clock.waitForSleepers()
        #expect(runs.withLock { $0 } == 0)
        clock.advance(by: .seconds(10))
        await clock.waitForSleepers()
        #expect(runs.withLock { $0 } == 1)
        clock.advance(by: .seconds(5))
        await clock.waitForSleepers()
        #expect(runs.withLock { $0 } == 1)
        clock.advance(by: .seconds(5))
        await clock.waitForSleepers()
        #expect(runs.withLock { $0 } == 2)
        task.cancel()
        await task.value
        #expect(runs.withLock { $0 } == 2)
    }

    /// Free space in the middle of the heap stays resident until it is asked for, and then goes.
    @Test func freePagesInsideTheHeapGoBackWhenAsked() throws {
        func residentMiB() throws -> Int {
            let fields = try String(contentsOfFile: "/proc/self/statm", encoding: .utf8).split(separator: " ")
            return (Int(fields[1])! * Int(sysconf(Int32(_SC_PAGESIZE)))) >> 20
        }
        // 128 MiB in small blocks, each written so its pages are resident, then one more block
        // above them that stays, so freeing the rest leaves a hole the heap's top cannot give back.
        let blocks = (0..<(128 << 20) / 512).map { _ in
            let block = UnsafeMutableRawPointer.allocate(byteCount: 512, alignment: 16)
            block.initializeMemory(as: UInt8.self, repeating: 1, count: 512)
            return block
        }
        let keeper = UnsafeMutableRawPointer.allocate(byteCount: 512, alignment: 16)
        defer { keeper.deallocate() }
        for block in blocks { block.deallocate() }
        let held = try residentMiB()
        ProcessMemory.returnFreePages()
        let returned = held - (try residentMiB())
        #expect(returned >= 64, "resident \(held) MiB before, \(returned) MiB returned")
    }
}
