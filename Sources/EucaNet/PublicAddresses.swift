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

    /// Where instances' metadata aliases are (``VPCNodeNetwork``).
    static let aliasBlock = "169.254.128.0/17"

    /// Makes the uplink (once). `publicDevice` is the host's interface on the site's network,
    /// where public addresses are answered for; nil where none is (instances then reach the host
    /// alone, and its metadata service). `metadata` is where the host's instance metadata service
    /// listens: instances reach it at 169.254.169.254:80 through the uplink.
    public func connect(publicDevice: String?, metadata: MetadataEndpoint? = nil) async throws {
        if let publicDevice, !NetworkText.isDeviceName(publicDevice) {
            throw EucaError(.invalidParameter, nil, "VNET_PUBINTERFACE \"\(publicDevice.prefix(64))\" is not a device name")
        }
        if let metadata, NetworkText.ipv4(metadata.address) == nil || !(1...65535).contains(metadata.port) {
            throw EucaError(.invalidParameter, nil, "the metadata service's address \(metadata.address.prefix(64)):\(metadata.port) is not IPv4")
        }
        guard !connected else { return }
        // Written first, so a run killed half way is cleaned up from the files all the same.
        try write(publicDevice ?? "", to: "uplink")
        let outside = Self.uplinkDevice(vni: vpc.vni)
        // The host's end has a MAC of its own making, `02:01:00:` and the VNI, and the way out is
        // one fixed neighbour: what instances send out costs the host's neighbour table nothing.
        let mac = NetworkText.mac("02:01:00", UInt32(vpc.vni), bytes: 3)
        // An uplink taken over with its namespace is kept; a host end left without its peer (its
        // namespace deleted by hand, or still going) is replaced.
        if (try? await inside.run(["ip", "link", "show", Self.uplinkInside])) == nil {
            if (try? await root.run(["ip", "link", "show", outside])) != nil {
                try? await root.run(["ip", "link", "del", outside])
                await Self.awaitUplinkGone(vni: vpc.vni, root: root)
            }
            try await root.run(["ip", "link", "add", outside, "address", mac, "type", "veth", "peer", "name", Self.uplinkInside, "netns", namespace])
        }
        try await root.run(["sysctl", "-q", "-w", "net.ipv4.ip_forward=1"])
        try await root.run(["ip", "link", "set", outside, "up"])
        try await inside.run(["ip", "link", "set", Self.uplinkInside, "up"])
        // The VPC's router address keeps `up0` from ever being without an address: the kernel
        // drops every route through a device whose last IPv4 address goes, the default with them.
        try await inside.run(["ip", "address", "replace", "\(vpc.gateway)/32", "dev", Self.uplinkInside])
        try await inside.run(["ip", "neigh", "replace", Self.uplinkHop, "lladdr", mac, "dev", Self.uplinkInside, "nud", "permanent"])
        try await inside.run(["ip", "route", "replace", "default", "via", Self.uplinkHop, "dev", Self.uplinkInside, "onlink"])
        // Nothing from the uplink reaches the host itself but replies, and requests to the
        // metadata service; no alias address comes from anywhere else. What the VPC sends on
        // (from its elastic IPs) goes to the public interface or another VPC's uplink only, never
        // to the host's other networks.
        let service = metadata.map { ["iifname \"\(outside)\" ip daddr \($0.address) tcp dport \($0.port) accept"] } ?? []
        let onward = ["iifname \"\(outside)\" oifname \"eu*\" accept"] + (publicDevice.map { ["iifname \"\(outside)\" oifname \"\($0)\" accept"] } ?? [])
        let guardTable = NftText.replacing("inet", "euca_up\(vpc.vni)")
            + NftText.hook("input", "filter", "input", "filter",
                           ["iifname \"\(outside)\" ct state established,related accept"] + service
                            + ["iifname \"\(outside)\" drop", "iifname != \"eu*\" ip saddr \(Self.aliasBlock) drop"])
            + NftText.hook("forward", "filter", "forward", "filter", onward + ["iifname \"\(outside)\" drop"]) + "}\n"
        try await root.run(["nft", "-f"], reading: guardTable, in: directory)
        uplink = publicDevice
        metadataEndpoint = metadata
        connected = true
    }

    /// Makes the VPC's elastic IPs on this host `associations` (public → private address), and
    /// gives each instance in `metadataAliases` (private → alias address) its way to the metadata
    /// service: its requests leave the uplink from its alias, an address unique on the host, by
    /// which the service knows the instance (every VPC may use the same private addresses).
    public func publish(_ associations: [String: String], metadataAliases: [String: String] = [:]) async throws {
        guard connected else { throw EucaError(.invalidParameter, nil, "the VPC \(vpc.vni) has no uplink") }
        let bad = associations.merging(metadataAliases) { first, _ in first }.filter { NetworkText.ipv4($0.key) == nil || NetworkText.ipv4($0.value) == nil }
        guard bad.isEmpty else {
            throw EucaError(.invalidParameter, nil, "not IPv4 addresses: \(bad.map { "\($0.key.prefix(40)) → \($0.value.prefix(40))" }.sorted().joined(separator: ", "))")
        }
        guard Set(associations.values).count == associations.count, Set(metadataAliases.values).count == metadataAliases.count else {
            throw EucaError(.invalidParameter, nil, "a private address has two public addresses, or two share an alias")
        }
        if !associations.isEmpty && uplink == nil {
            throw EucaError(.invalidParameter, nil, "elastic IPs need a public interface (VNET_PUBINTERFACE)")
        }
        let outside = Self.uplinkDevice(vni: vpc.vni)
        let old = Set(published.keys), new = Set(associations.keys)
        // Every address this may leave on the host is on file before it is added.
        try write(old.union(new).sorted().joined(separator: "\n"), to: "public")
        for address in new.subtracting(old).sorted() {
            try await inside.run(["ip", "address", "replace", "\(address)/32", "dev", Self.uplinkInside])
            try await root.run(["ip", "route", "replace", "\(address)/32", "dev", outside])
            if let uplink { try await root.run(["ip", "neigh", "replace", "proxy", address, "dev", uplink]) }
        }
        let oldAliases = Set(aliases.values), newAliases = Set(metadataAliases.values)
        // An alias is no address of the namespace's: the host reaches it through the VPC's router
        // address on the uplink, which the namespace answers for.
        for alias in newAliases.subtracting(oldAliases).sorted() {
            try await root.run(["ip", "route", "replace", "\(alias)/32", "via", vpc.gateway, "dev", outside, "onlink"])
        }
        // The table before the addresses go, so no packet is translated to an address being removed.
        try await inside.run(["nft", "-f"], reading: Self.natTable(associations, metadata: metadataEndpoint, aliases: metadataAliases), in: directory)
        for address in old.subtracting(new).sorted() { await withdraw(address) }
        for alias in oldAliases.subtracting(newAliases).sorted() {
            try? await root.run(["ip", "route", "del", "\(alias)/32", "dev", outside])
        }
        published = associations
        aliases = metadataAliases
        try write(associations.keys.sorted().joined(separator: "\n"), to: "public")
    }

    /// Answers again for every public address in use (another VPC may have withdrawn one that
    /// moved here from it).
    func reassertProxies() async {
        guard let uplink else { return }
        for address in published.keys.sorted() where NetworkText.ipv4(address) != nil {
            try? await root.run(["ip", "neigh", "replace", "proxy", address, "dev", uplink])
        }
    }

    private func withdraw(_ address: String) async {
        if let uplink { try? await root.run(["ip", "neigh", "del", "proxy", address, "dev", uplink]) }
        try? await root.run(["ip", "route", "del", "\(address)/32", "dev", Self.uplinkDevice(vni: vpc.vni)])
        try? await inside.run(["ip", "address", "del", "\(address)/32", "dev", Self.uplinkInside])
    }

    /// What ``connect(publicDevice:)`` and ``publish(_:)`` left on the host outside the namespace
    /// (the namespace's end takes the uplink and its routes with it): the proxy ARP entries and
    /// the guard table. From the files a run that was killed left, too.
    static func removeUplink(files: URL, vni: Int, root: HostCommands) async {
        await removeHostTables(vni: vni, root: root)
        guard let publicDevice = try? String(contentsOf: files.appendingPathComponent("uplink"), encoding: .utf8), !publicDevice.isEmpty else { return }
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

    /// The NAT table for `associations`, whole (it holds one line per address in use), with the
    /// way to the metadata service for the instances `aliases` names.
    static func natTable(_ associations: [String: String], metadata: MetadataEndpoint? = nil, aliases: [String: String] = [:]) -> String {
        let pairs = associations.sorted { $0.key < $1.key }
        var text = NftText.replacing("ip", "euca_nat")
        var toMetadata: [String] = [], fromAliases: [String] = [], metadataOut: [String] = []
        if let metadata {
            let service = "ip daddr \(metadata.address) tcp dport \(metadata.port)"
            text += NftText.collection("map", "metadata_alias", type: "ipv4_addr : ipv4_addr", aliases.sorted { $0.key < $1.key }.map { "\($0.key) : \($0.value)" })
            toMetadata = ["iifname \"vn*\" ip daddr \(MetadataEndpoint.linkLocal) tcp dport 80 dnat to \(metadata.address):\(metadata.port)"]
            fromAliases = ["oifname \"\(uplinkInside)\" \(service) snat to ip saddr map @metadata_alias"]
            metadataOut = ["oifname \"\(uplinkInside)\" \(service) ip saddr @metadata_alias_sources accept"]
            text += NftText.collection("set", "metadata_alias_sources", type: "ipv4_addr", aliases.keys.sorted())
        }
        text += NftText.collection("map", "public_to_private", type: "ipv4_addr : ipv4_addr", pairs.map { "\($0.key) : \($0.value)" })
        text += NftText.collection("map", "private_to_public", type: "ipv4_addr : ipv4_addr", pairs.map { "\($0.value) : \($0.key)" })
        text += NftText.collection("set", "associated", type: "ipv4_addr", pairs.map(\.value))
        text += NftText.hook("prerouting", "nat", "prerouting", "dstnat", toMetadata + ["iifname \"\(uplinkInside)\" dnat to ip daddr map @public_to_private"])
        text += NftText.hook("postrouting", "nat", "postrouting", "srcnat", fromAliases + ["oifname \"\(uplinkInside)\" snat to ip saddr map @private_to_public"])
        text += NftText.hook("forward", "filter", "forward", "filter", metadataOut + ["oifname \"\(uplinkInside)\" ip saddr != @associated drop"])
        text += "}\n"
        return text
    }
}

/// Where a host's instance metadata service listens, for the VPCs' uplinks to lead to.
public struct MetadataEndpoint: Sendable, Hashable {
    /// The address instances ask, as on EC2.
    public static let linkLocal = "169.254.169.254"
    public var address: String
    public var port: Int

    public init(address: String = linkLocal, port: Int = 80) {
        self.address = address
        self.port = port
    }
}
