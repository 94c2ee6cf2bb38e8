import Foundation

/// The kernel's IPv4 neighbour (ARP) table: which MAC address answers at which IP address on
/// which interface. It is how a node learns the address an instance took from DHCP, and how its
/// metadata service knows which instance is asking.
public struct NeighbourTable: Sendable {
    public struct Entry: Sendable, Hashable {
        public var address: String
        /// Lower case, colon separated.
        public var mac: String
        public var device: String
    }

    public var entries: [Entry]

    public init(entries: [Entry]) {
        self.entries = entries
    }

    /// Reads `/proc/net/arp` (or `path`); complete entries only.
    public static func read(path: String = "/proc/net/arp") -> NeighbourTable {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return NeighbourTable(entries: []) }
        return parse(text)
    }

    /// Parses the `/proc/net/arp` format: a header line, then address, hardware type, flags,
    /// hardware address, mask and device per line.
    public static func parse(_ text: String) -> NeighbourTable {
        var entries: [Entry] = []
        for line in text.split(separator: "\n").dropFirst() {
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard fields.count >= 6, fields[2] != "0x0", fields[3] != "00:00:00:00:00:00" else { continue }
            entries.append(Entry(address: String(fields[0]), mac: fields[3].lowercased(), device: String(fields[5])))
        }
        return NeighbourTable(entries: entries)
    }

    /// The MAC address at `address`, on `device` when given.
    public func mac(at address: String, device: String? = nil) -> String? {
        entries.first { $0.address == address && (device == nil || $0.device == device) }?.mac
    }

    /// The addresses by MAC address, on `device` when given.
    public func addresses(device: String? = nil) -> [String: String] {
        var result: [String: String] = [:]
        for entry in entries where device == nil || entry.device == device { result[entry.mac] = entry.address }
        return result
    }
}
