/// Departures by time, earliest first, ties in the order they were pushed (so a run does not
/// depend on the queue's internals).
///
/// A radix heap: simulated time never goes back, so no event is pushed earlier than the last
/// one taken. An event waits in the bucket of the highest bit in which its time differs from
/// the last time taken; when the bucket of equal times runs dry, the first bucket that is not
/// empty is spread over the lower ones around its earliest time. Buckets are appended to and
/// read in order, so at a million events in flight the queue walks memory in sequence instead
/// of jumping down a heap's levels.
struct EventQueue {
    struct Event {
        var time: Double
        /// The push order and the VM's slot in one word, order first.
        var order: UInt64

        var vm: Int { Int(order & (1 << EventQueue.slotBits - 1)) }
    }

    /// Slots below 2^28 (268 million VMs at once), pushes below 2^36.
    static let slotBits: UInt64 = 28

    /// Bucket 0 holds the events at exactly the last time taken, in push order from `head`;
    /// bucket b (1…64) those whose time's bit pattern first differs from it in bit b - 1.
    private var buckets = [[Event]](repeating: [], count: 65)
    private var head = 0
    /// Each bucket's earliest time's bit pattern.
    private var earliest = [UInt64](repeating: .max, count: 65)
    /// Bit b - 1 set when bucket b (1…64) holds events.
    private var occupied: UInt64 = 0
    private var last: UInt64 = 0
    private var pushed: UInt64 = 0
    private(set) var count = 0

    /// The earliest event's time.
    var nextTime: Double? {
        if head < buckets[0].count { return buckets[0][head].time }
        guard occupied != 0 else { return nil }
        return Double(bitPattern: earliest[occupied.trailingZeroBitCount + 1])
    }

    mutating func push(time: Double, vm: Int) {
        precondition(vm < 1 << Self.slotBits, "more than 2^28 VMs at once")
        let key = Self.key(time)
        precondition(key >= last, "an event pushed before the last one taken")
        let event = Event(time: time, order: pushed << Self.slotBits | UInt64(vm))
        pushed += 1
        count += 1
        file(event, key)
    }

    mutating func pop() -> Event? {
        if head == buckets[0].count {
            guard occupied != 0 else { return nil }
            refill()
        }
        let event = buckets[0][head]
        head += 1
        count -= 1
        if head == buckets[0].count {
            buckets[0].removeAll(keepingCapacity: true)
            head = 0
        }
        return event
    }

    /// Times not below 0 order as their bit patterns do (-0 is taken as 0).
    private static func key(_ time: Double) -> UInt64 {
        precondition(time >= 0, "an event at a negative time")
        return time == 0 ? 0 : time.bitPattern
    }

    private func bucket(_ key: UInt64) -> Int {
        key == last ? 0 : 64 - (key ^ last).leadingZeroBitCount
    }

    private mutating func file(_ event: Event, _ key: UInt64) {
        let index = bucket(key)
        buckets[index].append(event)
        if index > 0 {
            earliest[index] = min(earliest[index], key)
            occupied |= 1 << UInt64(index - 1)
        }
    }

    /// Moves the first full bucket's events down around its earliest time; those at that time
    /// land in bucket 0. Events of one time are always in one bucket, in push order: they are
    /// appended as pushed and moved together, in order.
    private mutating func refill() {
        let source = occupied.trailingZeroBitCount + 1
        last = earliest[source]
        var moving: [Event] = []
        swap(&moving, &buckets[source])
        earliest[source] = .max
        occupied &= ~(1 << UInt64(source - 1))
        // Every one of them differs from the new last time only below bit source - 1.
        for event in moving { file(event, Self.key(event.time)) }
        moving.removeAll(keepingCapacity: true)
        buckets[source] = moving
    }
}
