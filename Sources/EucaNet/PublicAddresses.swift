import EucaCore
import Foundation

/// Elastic IPs for one VPC on one host: 1:1 NAT between each public address and the private
/// address it is associated with, as EC2's internet gateway does it.
///
/// The VPC's namespace gets an uplink, a veth pair: `up0` inside, `eu<vni>` on the host. A public
/// address in use is a /32 on `up0`, routed to `eu<vni>` on the host, and answered for on the
/// site's network by a proxy ARP entry on `publicDevice` (that address alone, nothing else of the
/// site's). Inside, table `ip euca_nat` rewrites the destination of what comes in for a public
/// address and the source of what its instance sends out, and drops what an instance without one
/// would send out (EC2's default VPC gives such an instance no way out). On the host, table
/// `inet euca_up<vni>` lets nothing from the uplink reach the host itself but replies.
extension VPCHost {
    public static let uplinkInside = "up0"
    /// The next hop out of a VPC's namespace: an address no packet is sent to, named only so the
    /// default route has a fixed neighbour.
    static let uplinkHop = "169.254.0.1"

    public static func uplinkDevice(vni: Int) -> String { "eu\(vni)" }

    /// Makes the uplink (once); `publicDevice` is the host's interface on the site's network.
    public func connect(publicDevice: String) async throws {
        guard NetworkText.isDeviceName(publicDevice) else {
            throw EucaError(.invalidParameter, nil, "VNET_PUBINTERFACE \"\(publicDevice.prefix(64))\" is not a device name")
        }
        guard uplink == nil else { return }
        // Written first, so a run killed half way is cleaned up from the files all the same.
        try write(publicDevice, to: "uplink")
        let outside = Self.uplinkDevice(vni: vpc.vni)
        // The host's end has a MAC of its own making, `02:01:00:` and the VNI, and the way out is
        // one fixed neighbour: what instances send out costs the host's neighbour table nothing.
        let vni = UInt32(vpc.vni)
        let mac = "02:01:00:" + [16, 8, 0].map { String(format: "%02x", vni >> UInt32($0) & 0xFF) }.joined(separator: ":")
        try await root.run(["ip", "link", "add", outside, "address", mac, "type", "veth", "peer", "name", Self.uplinkInside, "netns", namespace])
        try await root.run(["sysctl", "-q", "-w", "net.ipv4.ip_forward=1"])
        try await root.run(["ip", "link", "set", outside, "up"])
        try await inside.run(["ip", "link", "set", Self.uplinkInside, "up"])
        // The VPC's router address keeps `up0` from ever being without an address: the kernel
        // drops every route through a device whose last IPv4 address goes, the default with them.
        try await inside.run(["ip", "address", "replace", "\(vpc.gateway)/32", "dev", Self.uplinkInside])
        try await inside.run(["ip", "neigh", "replace", Self.uplinkHop, "lladdr", mac, "dev", Self.uplinkInside, "nud", "permanent"])
        try await inside.run(["ip", "route", "replace", "default", "via", Self.uplinkHop, "dev", Self.uplinkInside, "onlink"])
        let guardTable = NftText.replacing("inet", "euca_up\(vpc.vni)")
            + NftText.hook("input", "filter", "input", "filter", ["iifname \"\(outside)\" ct state established,related accept", "iifname \"\(outside)\" drop"]) + "}\n"
        try await root.run(["nft", "-f"], reading: guardTable, in: directory)
        uplink = publicDevice
    }

    /// Makes the VPC's elastic IPs on this host `associations` (public → private address).
    public func publish(_ associations: [String: String]) async throws {
        guard let publicDevice = uplink else { throw EucaError(.invalidParameter, nil, "the VPC \(vpc.vni) has no uplink") }
        let bad = associations.filter { NetworkText.ipv4($0.key) == nil || NetworkText.ipv4($0.value) == nil }
        guard bad.isEmpty else {
            throw EucaError(.invalidParameter, nil, "not IPv4 addresses: \(bad.map { "\($0.key.prefix(40)) → \($0.value.prefix(40))" }.sorted().joined(separator: ", "))")
        }
        guard Set(associations.values).count == associations.count else {
            throw EucaError(.invalidParameter, nil, "a private address has two public addresses")
        }
        let outside = Self.uplinkDevice(vni: vpc.vni)
        let old = Set(published.keys), new = Set(associations.keys)
        // Every address this may leave on the host is on file before it is added.
        try write(old.union(new).sorted().joined(separator: "\n"), to: "public")
        for address in new.subtracting(old).sorted() {
            try await inside.run(["ip", "address", "replace", "\(address)/32", "dev", Self.uplinkInside])
            try await root.run(["ip", "route", "replace", "\(address)/32", "dev", outside])
            try await root.run(["ip", "neigh", "replace", "proxy", address, "dev", publicDevice])
        }
        // The table before the addresses go, so no packet is translated to an address being removed.
        try await inside.run(["nft", "-f"], reading: Self.natTable(associations), in: directory)
        for address in old.subtracting(new).sorted() { await withdraw(address, publicDevice: publicDevice) }
        published = associations
        try write(associations.keys.sorted().joined(separator: "\n"), to: "public")
    }

    private func withdraw(_ address: String, publicDevice: String) async {
        try? await root.run(["ip", "neigh", "del", "proxy", address, "dev", publicDevice])
        try? await root.run(["ip", "route", "del", "\(address)/32", "dev", Self.uplinkDevice(vni: vpc.vni)])
        try? await inside.run(["ip", "address", "del", "\(address)/32", "dev", Self.uplinkInside])
    }

    /// What ``connect(publicDevice:)`` and ``publish(_:)`` left on the host outside the namespace
    /// (the namespace's end takes the uplink and its routes with it): the proxy ARP entries and
    /// the guard table. From the files a run that was killed left, too.
    static func removeUplink(files: URL, vni: Int, root: HostCommands) async {
        await removeHostTables(vni: vni, root: root)
        guard let publicDevice = try? String(contentsOf: files.appendingPathComponent("uplink"), encoding: .utf8) else { return }
        let addresses = ((try? String(contentsOf: files.appendingPathComponent("public"), encoding: .utf8)) ?? "").split(separator: "\n")
        for address in addresses where NetworkText.ipv4(String(address)) != nil && NetworkText.isDeviceName(publicDevice) {
            try? await root.run(["ip", "neigh", "del", "proxy", String(address), "dev", publicDevice])
        }
    }

    /// The host's tables for the VPC outside its namespace (the uplink's guard, the overlay's
    /// filter): what a namespace's end does not take with it.
    static func removeHostTables(vni: Int, root: HostCommands) async {
        for table in ["euca_up\(vni)", "euca_vx\(vni)"] { try? await root.run(["nft", "delete", "table", "inet", table]) }
    }

    /// Waits for the uplink's host end to go: the kernel ends a deleted namespace's devices a
    /// little after `ip netns del` returns, and the routes through them with them.
    static func awaitUplinkGone(vni: Int, root: HostCommands) async {
        for _ in 0..<200 {
            guard (try? await root.run(["ip", "link", "show", uplinkDevice(vni: vni)])) != nil else { return }
            try? await Task.sleep(for: .milliseconds(10))
        }
    }

    /// The NAT table for `associations`, whole (it holds one line per address in use).
    static func natTable(_ associations: [String: String]) -> String {
        let pairs = associations.sorted { $0.key < $1.key }
        var text = NftText.replacing("ip", "euca_nat")
        text += NftText.collection("map", "public_to_private", type: "ipv4_addr : ipv4_addr", pairs.map { "\($0.key) : \($0.value)" })
        text += NftText.collection("map", "private_to_public", type: "ipv4_addr : ipv4_addr", pairs.map { "\($0.value) : \($0.key)" })
        text += NftText.collection("set", "associated", type: "ipv4_addr", pairs.map(\.value))
        text += NftText.hook("prerouting", "nat", "prerouting", "dstnat", ["iifname \"\(uplinkInside)\" dnat to ip daddr map @public_to_private"])
        text += NftText.hook("postrouting", "nat", "postrouting", "srcnat", ["oifname \"\(uplinkInside)\" snat to ip saddr map @private_to_public"])
        text += NftText.hook("forward", "filter", "forward", "filter", ["oifname \"\(uplinkInside)\" ip saddr != @associated drop"])
        text += "}\n"
        return text
    }
}
