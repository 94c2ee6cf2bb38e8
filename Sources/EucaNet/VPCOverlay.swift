import EucaCore

/// One VPC across hosts: a VXLAN device per host (`vx<vni>`, the VPC's VNI), made where the
/// host's underlay address is and moved into the VPC's namespace, so its packets travel between
/// hosts on the site's network while everything inside stays the VPC's. Routing stays routed: an
/// instance on another host is a /32 route through the VXLAN device, with a fixed neighbour entry
/// naming that host's device and a forwarding entry naming that host. No flooding, no learning:
/// a host knows only the instances it is told of.
extension VPCHost {
    public static func overlayDevice(vni: Int) -> String { "vx\(vni)" }

    /// Whether the VPC's VXLAN device is made on this host.
    public var hasOverlay: Bool { overlay != nil }

    /// The VXLAN device's MAC on the host whose underlay address is `underlay`: `02:00:` and
    /// its four bytes, the same on every host that computes it.
    public static func overlayMAC(underlay: String) -> String? {
        guard let value = NetworkText.ipv4(underlay) else { return nil }
        return NetworkText.mac("02:00", value, bytes: 4)
    }

    /// Makes the VPC's VXLAN device (once), its underlay on `underlay`, this host's address on
    /// the site's network.
    public func join(underlay: String) async throws {
        guard let mac = Self.overlayMAC(underlay: underlay) else {
            throw EucaError(.invalidParameter, nil, "the underlay address \"\(underlay.prefix(64))\" is not IPv4")
        }
        guard overlay == nil else { return }
        let device = Self.overlayDevice(vni: vpc.vni)
        try await root.run([
            "ip", "link", "add", device, "address", mac, "type", "vxlan", "id", String(vpc.vni), "local", underlay, "dstport", "4789", "nolearning",
        ])
        try await root.run(["ip", "link", "set", device, "netns", namespace])
        try await inside.run(["ip", "link", "set", device, "up"])
        try await root.run(["nft", "-f"], reading: Self.overlayGuard(vni: vpc.vni, peers: []), in: directory)
        try await inside.run(["nft", "-f"], reading: Self.overlayFilter(device: device, remote: []), in: directory)
        overlay = underlay
    }

    /// On the host: a VXLAN packet for this VPC's VNI (24 bits, 4 bytes into the VXLAN header
    /// after UDP's 8) from any address but a peer host's is dropped before it is decapsulated.
    static func overlayGuard(vni: Int, peers: Set<String>) -> String {
        let name = "euca_vx\(vni)"
        let text = NftText.replacing("inet", name) + NftText.collection("set", "peers", type: "ipv4_addr", peers.sorted())
        return text + NftText.hook("input", "filter", "input", "filter", ["udp dport 4789 @th,96,24 \(vni) ip saddr != @peers drop"]) + "}\n"
    }

    /// In the namespace: what comes out of the VXLAN device is IPv4 from an instance the host
    /// was told of, or nothing.
    static func overlayFilter(device: String, remote: Set<String>) -> String {
        let text = NftText.replacing("inet", "euca_overlay") + NftText.collection("set", "remote", type: "ipv4_addr", remote.sorted())
        return text + NftText.hook("prerouting", "filter", "prerouting", "raw", [
            "iifname \"\(device)\" meta nfproto ipv6 drop", "iifname \"\(device)\" ip saddr != @remote drop",
        ]) + "}\n"
    }

    /// Makes the VPC's instances on other hosts `remote`: private address → the underlay
    /// address of the host it runs on.
    public func reach(_ remote: [String: String]) async throws {
        guard overlay != nil else { throw EucaError(.invalidParameter, nil, "the VPC \(vpc.vni) has no overlay on this host") }
        var macs: [String: String] = [:]
        for (address, host) in remote {
            guard NetworkText.ipv4(address) != nil, let mac = Self.overlayMAC(underlay: host) else {
                throw EucaError(.invalidParameter, nil, "not IPv4 addresses: \(address.prefix(40)) on \(host.prefix(40))")
            }
            macs[host] = mac
        }
        let device = Self.overlayDevice(vni: vpc.vni)
        var lines = ""
        for host in Set(remote.values).subtracting(Set(reached.values)).sorted() {
            try await inside.run(["bridge", "fdb", "append", macs[host]!, "dev", device, "dst", host])
        }
        for (address, host) in remote.sorted(by: { $0.key < $1.key }) where reached[address] != host {
            lines += "neigh replace \(address) lladdr \(macs[host]!) dev \(device) nud permanent\n"
            lines += "route replace \(address)/32 dev \(device)\n"
        }
        for address in Set(reached.keys).subtracting(remote.keys).sorted() {
            lines += "route del \(address)/32 dev \(device)\nneigh del \(address) dev \(device)\n"
        }
        if !lines.isEmpty { try await inside.run(["ip", "-force", "-batch"], reading: lines, in: directory) }
        for host in Set(reached.values).subtracting(Set(remote.values)).sorted() {
            if let mac = Self.overlayMAC(underlay: host) { try? await inside.run(["bridge", "fdb", "del", mac, "dev", device, "dst", host]) }
        }
        // Only the hosts named send this VPC's VXLAN packets, and only from its instances there.
        try await root.run(["nft", "-f"], reading: Self.overlayGuard(vni: vpc.vni, peers: Set(remote.values)), in: directory)
        try await inside.run(["nft", "-f"], reading: Self.overlayFilter(device: device, remote: Set(remote.keys)), in: directory)
        reached = remote
    }
}
