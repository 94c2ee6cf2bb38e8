import EucaCore
import EucaNet
import Synchronization

/// The addresses of the modes that put every instance on one network of the cloud's (STATIC,
/// MANAGED-NOVLAN): a MAC and address pair from the map, or an address of the instance's first
/// group's block. What the committed records hold is taken; what launches are giving out is
/// held here until their records are committed (or not), so two launches at once never take the
/// same address, nor two new groups the same block.
final class SegmentNumbering: Sendable {
    private struct Held {
        var addresses: Set<UInt32> = []
        /// Group blocks being given to groups that had none: block → the group, and how many
        /// launches hold it.
        var blocks: [Int: (group: String, launches: Int)] = [:]
    }

    private let held = Mutex(Held())

    /// One assignment of a launch: the MAC (from the map; nil where the mode makes it from the
    /// instance's id) and the address.
    struct Assignment: Sendable, Hashable {
        var macAddress: String?
        var address: String
    }

    /// `count` assignments for instances of `group` on `segment`, or fewer when there are not so
    /// many free. `taken` reads the committed records (under the lock): each live instance's
    /// address on the segment and its first group.
    func reserve(
        _ count: Int, on segment: SegmentAddressing, group: String, taken: () -> [(address: UInt32, group: String?)]
    ) -> (assignments: [Assignment], block: Int?) {
        held.withLock { held in
            let live = taken()
            let used = Set(live.map(\.address)).union(held.addresses)
            switch segment.assignment {
            case .macMap(let map):
                let chosen = map.lazy.filter { NetworkText.ipv4($0.address).map { !used.contains($0) } ?? false }.prefix(count)
                let assignments = chosen.map { Assignment(macAddress: $0.macAddress, address: $0.address) }
                held.addresses.formUnion(assignments.compactMap { NetworkText.ipv4($0.address) })
                return (Array(assignments), nil)
            case .groupBlocks:
                // The group's block is the one its live instances are in; a group with none takes
                // the lowest block no other group holds.
                var blockOwners = held.blocks.mapValues(\.group)
                for instance in live {
                    if let index = segment.groupBlock(of: AddressPool.format(instance.address)), let owner = instance.group { blockOwners[index] = owner }
                }
                let index = blockOwners.first { $0.value == group }?.key
                    ?? (0..<segment.groupBlockCount).first { blockOwners[$0] == nil }
                guard let index, let range = segment.instanceRange(ofGroupBlock: index) else { return ([], nil) }
                let chosen = range.lazy.filter { !used.contains($0) }.prefix(count)
                held.addresses.formUnion(chosen)
                let claimed = held.blocks[index] != nil || !live.contains { $0.group == group && segment.groupBlock(of: AddressPool.format($0.address)) == index }
                if claimed { held.blocks[index] = (group, (held.blocks[index]?.launches ?? 0) + 1) }
                return (chosen.map { Assignment(macAddress: nil, address: AddressPool.format($0)) }, claimed ? index : nil)
            }
        }
    }

    func release(_ assignments: [Assignment], block: Int?) {
        held.withLock { held in
            held.addresses.subtract(assignments.compactMap { NetworkText.ipv4($0.address) })
            if let block, let hold = held.blocks[block] {
                held.blocks[block] = hold.launches > 1 ? (hold.group, hold.launches - 1) : nil
            }
        }
    }
}

extension VPCService {
    /// `count` addresses on the cloud's network for a launch into `group` (by id), held until
    /// ``releaseSegmentAddresses(_:block:)`` (`block` is the group block the launch holds, if
    /// any). Throws EC2's error when there are not so many free.
    func reserveSegmentAddresses(
        _ count: Int, on segment: SegmentAddressing, group: String
    ) throws -> (assignments: [SegmentNumbering.Assignment], block: Int?) {
        let state = self.state
        let result = segmentNumbering.reserve(count, on: segment, group: group) {
            state.read { tables in
                tables.instances.values.compactMap { instance in
                    guard instance.state != .terminated, instance.vni == segment.vni, let address = instance.privateIp.flatMap(NetworkText.ipv4)
                    else { return nil }
                    return (address, instance.groups.first?.id.rawValue)
                }
            }
        }
        guard result.assignments.count == count else {
            segmentNumbering.release(result.assignments, block: result.block)
            let reason: String
            switch segment.assignment {
            case .macMap: reason = "every pair of VNET_MACMAP is taken"
            case .groupBlocks:
                reason = result.block == nil
                    ? "every block of \(segment.block) belongs to another security group" : "the security group's block of \(segment.block) is full"
            }
            throw EucaError(
                .insufficientCapacity, .subnet,
                "There are not enough free addresses on this cloud's network to launch \(count) instance\(count == 1 ? "" : "s"): \(reason).")
        }
        return result
    }

    func releaseSegmentAddresses(_ assignments: [SegmentNumbering.Assignment], block: Int?) {
        segmentNumbering.release(assignments, block: block)
    }
}
