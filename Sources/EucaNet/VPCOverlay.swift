import EucaCore

/// Where an instance on another host is: that host's underlay address, and the segment that
/// carries traffic to it (MANAGED mode: its group's; nil for the network's own VNI).
public struct RemotePlace: Sendable, Hashable {
    public var host: String
    public var segment: Int?

    public init(host: String, segment: Int? = nil) {
        self.host = host
        self.segment = segment
    }
}

/// One network across hosts: a VXLAN device per host (`vx<vni>`, the network's VNI), made where
/// the host's underlay address is and moved into the network's namespace, so its packets travel
/// between hosts on the site's network while everything inside stays the network's. Routing stays
/// routed: an instance on another host is a /32 route through the VXLAN device, with a fixed
/// neighbour entry naming that host's device and a forwarding entry naming that host. No flooding,
/// no learning: a host knows only the instances it is told of.
///
/// In MANAGED mode each security group's block is a segment of its own between hosts: a VXLAN
/// device `vx<segment>` (VNI = segment), or, where the host has 802.1Q, a VLAN device
/// `vl<segment>` (tag = segment) on `VNET_PRIVINTERFACE`, through which the other host's
/// namespace answers ARP for its instances (proxy ARP).
extension VPCHost {
    public static func overlayDevice(vni: Int) -> String { "vx\(vni)" }

    /// Whether the network's VXLAN device is made on this host.
    public var hasOverlay: Bool { overlay != nil }

    /// The VXLAN devices' MAC on the host whose underlay address is `underlay`: `02:00:` and
    /// its four bytes, the same on every host that computes it.
    public static func overlayMAC(underlay: String) -> String? {
        guard let value = NetworkText.ipv4(underlay) else { return nil }
        return NetworkText.mac("02:00", value, bytes: 4)
    }

    /// Makes the network's VXLAN device (once), its underlay on `underlay`, this host's address on
    /// the site's network.
    public func join(underlay: String) async throws {
        guard Self.overlayMAC(underlay: underlay) != nil else {
            throw EucaError(.invalidParameter, nil, "the underlay address \"\(underlay.prefix(64))\" is not IPv4")
        }
        guard overlay == nil else { return }
        try await makeVXLAN(vni: vpc.vni, underlay: underlay)
        try await inside.run(["nft", "-f"], reading: Self.overlayFilter(remote: []), in: directory)
        overlay = underlay
    }

    private func makeVXLAN(vni: Int, underlay: String) async throws {
        let device = Self.overlayDevice(vni: vni)
        guard let mac = Self.overlayMAC(underlay: underlay) else { return }
        try await root.run([
            "ip", "link", "add", device, "address", mac, "type", "vxlan", "id", String(vni), "local", underlay, "dstport", "4789", "nolearning",
        ])
        try await root.run(["ip", "link", "set", device, "netns", namespace])
        try await inside.run(["ip", "link", "set", device, "up"])
        vxlans.insert(vni)
        // No host sends into the VNI until it is named a peer.
        try await root.run(["nft", "-f"], reading: Self.overlayGuard(table: vpc.vni, peers: peersByVNI()), in: directory)
    }

    /// The hosts each VXLAN device here hears from: those of the instances it reaches.
    private func peersByVNI(_ remote: [String: RemotePlace]? = nil) -> [Int: Set<String>] {
        var peers = Dictionary(uniqueKeysWithValues: vxlans.map { ($0, Set<String>()) })
        for place in (remote ?? reached).values where vlanParent == nil || place.segment == nil {
            peers[place.segment ?? vpc.vni, default: []].insert(place.host)
        }
        return peers
    }

    /// The device that carries traffic to `place`, made if it is not yet.
    private func device(for place: RemotePlace) async throws -> String {
        guard let segment = place.segment else { return Self.overlayDevice(vni: vpc.vni) }
        guard (SegmentAddressing.firstSegment...SegmentAddressing.maxSegment).contains(segment) else {
            throw EucaError(.invalidParameter, nil, "segment \(segment) is not from \(SegmentAddressing.firstSegment) to \(SegmentAddressing.maxSegment)")
        }
        if let parent = vlanParent {
            let device = "vl\(segment)"
            if !vlans.contains(segment) {
                try await root.run(["ip", "link", "add", "link", parent, "name", device, "type", "vlan", "id", String(segment)])
                try await root.run(["ip", "link", "set", device, "netns", namespace])
                try await inside.run(["ip", "link", "set", device, "up"])
                vlans.insert(segment)
            }
            return device
        }
        if !vxlans.contains(segment), let underlay = overlay { try await makeVXLAN(vni: segment, underlay: underlay) }
        return Self.overlayDevice(vni: segment)
    }

    /// On the host: a VXLAN packet for one of the namespace's VNIs (24 bits, 4 bytes into the
    /// VXLAN header after UDP's 8) from any address but a peer host's of that VNI is dropped before
    /// it is decapsulated. One table per namespace, named by its own VNI.
    static func overlayGuard(table vni: Int, peers: [Int: Set<String>]) -> String {
        var text = NftText.replacing("inet", "euca_vx\(vni)")
        for (segment, hosts) in peers.sorted(by: { $0.key < $1.key }) { text += NftText.collection("set", "peers_\(segment)", type: "ipv4_addr", hosts.sorted()) }
        return text + NftText.hook("input", "filter", "input", "filter", peers.keys.sorted().map { "udp dport 4789 @th,96,24 \($0) ip saddr != @peers_\($0) drop" }) + "}\n"
    }

    /// In the namespace: what comes out of a VXLAN or VLAN device is IPv4 from an instance the
    /// host was told of, or nothing.
    static func overlayFilter(remote: Set<String>) -> String {
        let text = NftText.replacing("inet", "euca_overlay") + NftText.collection("set", "remote", type: "ipv4_addr", remote.sorted())
        return text + NftText.hook("prerouting", "filter", "prerouting", "raw", ["vx*", "vl*"].flatMap { devices in
            ["iifname \"\(devices)\" meta nfproto ipv6 drop", "iifname \"\(devices)\" ip saddr != @remote drop"]
        }) + "}\n"
    }

    /// Makes the network's instances on other hosts `remote`: private address → the underlay
    /// address of the host it runs on.
    public func reach(_ remote: [String: String]) async throws {
        try await reach(places: remote.mapValues { RemotePlace(host: $0) })
    }

    /// Makes the network's instances on other hosts `remote`: private address → where it is.
    public func reach(places remote: [String: RemotePlace]) async throws {
        guard overlay != nil || (vlanParent != nil && remote.values.allSatisfy { $0.segment != nil }) else {
            throw EucaError(.invalidParameter, nil, "the network \(vpc.vni) has no overlay on this host")
        }
        for (address, place) in remote where NetworkText.ipv4(address) == nil || Self.overlayMAC(underlay: place.host) == nil {
            throw EucaError(.invalidParameter, nil, "not IPv4 addresses: \(address.prefix(40)) on \(place.host.prefix(40))")
        }
        var devices: [RemotePlace: String] = [:]
        for place in Set(remote.values) { devices[place] = try await device(for: place) }
        let known = Set(reached.values)
        var lines = ""
        // A VXLAN device's forwarding entry per host it reaches; a VLAN device needs none.
        for place in Set(remote.values).subtracting(known).sorted(by: { ($0.host, $0.segment ?? 0) < ($1.host, $1.segment ?? 0) })
        where devices[place]?.hasPrefix("vx") == true {
            try await inside.run(["bridge", "fdb", "append", Self.overlayMAC(underlay: place.host)!, "dev", devices[place]!, "dst", place.host])
        }
        for (address, place) in remote.sorted(by: { $0.key < $1.key }) where reached[address] != place {
            let device = devices[place]!
            if let old = reached[address] { lines += "route del \(address)/32\nneigh del \(address) dev \(deviceName(old))\n" }
            if device.hasPrefix("vx") { lines += "neigh replace \(address) lladdr \(Self.overlayMAC(underlay: place.host)!) dev \(device) nud permanent\n" }
            lines += "route replace \(address)/32 dev \(device)\n"
        }
        for address in Set(reached.keys).subtracting(remote.keys).sorted() {
            let device = reached[address].map(deviceName) ?? Self.overlayDevice(vni: vpc.vni)
            lines += "route del \(address)/32 dev \(device)\nneigh del \(address) dev \(device)\n"
        }
        if !lines.isEmpty { try await inside.run(["ip", "-force", "-batch"], reading: lines, in: directory) }
        for place in known.subtracting(Set(remote.values)).sorted(by: { ($0.host, $0.segment ?? 0) < ($1.host, $1.segment ?? 0) }) {
            let device = deviceName(place)
            if device.hasPrefix("vx"), let mac = Self.overlayMAC(underlay: place.host) {
                try? await inside.run(["bridge", "fdb", "del", mac, "dev", device, "dst", place.host])
            }
        }
        // Only the hosts named send the network's VXLAN packets, and only from its instances there.
        if !vxlans.isEmpty { try await root.run(["nft", "-f"], reading: Self.overlayGuard(table: vpc.vni, peers: peersByVNI(remote)), in: directory) }
        try await inside.run(["nft", "-f"], reading: Self.overlayFilter(remote: Set(remote.keys)), in: directory)
        reached = remote
    }

    /// The device of a place already reached (made before).
    private func deviceName(_ place: RemotePlace) -> String {
        guard let segment = place.segment else { return Self.overlayDevice(vni: vpc.vni) }
        return vlanParent == nil ? Self.overlayDevice(vni: segment) : "vl\(segment)"
    }
}
