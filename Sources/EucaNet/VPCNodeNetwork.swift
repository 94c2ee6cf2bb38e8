public import EucaCore
import Foundation

/// The VPC network of one node: a ``VPCHost`` for each VPC that has an instance here, made when
/// its first instance arrives and removed with its last. The node hands it each instance whose
/// tap the hypervisor made (``attach(instance:macAddress:network:)``), each one that goes
/// (``release(instance:)``) and each network policy the cloud sends (``configure(_:)``); from
/// these it computes, per VPC, the ports, the security groups they need, the elastic IPs of its
/// instances and their ways to the metadata service, and applies them.
public actor VPCNodeNetwork {
    public struct Settings: Sendable {
        /// Where each VPC's files go (DHCP, what to remove after a crash).
        public var directory: String
        /// The host's interface on the site's network (`VNET_PUBINTERFACE`), for elastic IPs.
        public var publicDevice: String?
        /// Where the node's metadata service listens; nil for none.
        public var metadata: MetadataEndpoint?
        /// How VPC namespaces are named (another per host a test stands up on one machine).
        public var namespacePrefix: String
        /// This node's address on the network between nodes (`VNET_PRIVINTERFACE`'s): its VPCs'
        /// VXLAN traffic leaves from it. Without one, a VPC's instances here reach only each other.
        public var underlay: String?
        /// The DNS servers DHCP gives instances (`VNET_DNS`).
        public var dns: [String]
        /// The device MANAGED mode's segments are VLANs on (`VNET_PRIVINTERFACE`, where the kernel
        /// has 802.1Q); nil where they are VXLAN VNIs from `underlay`.
        public var vlanParent: String?

        public init(
            directory: String, publicDevice: String? = nil, metadata: MetadataEndpoint? = MetadataEndpoint(),
            namespacePrefix: String = VPCHost.namespacePrefix, underlay: String? = nil, dns: [String] = [], vlanParent: String? = nil
        ) {
            self.dns = dns
            self.vlanParent = vlanParent
            self.underlay = underlay
            self.directory = directory
            self.publicDevice = publicDevice
            self.metadata = metadata
            self.namespacePrefix = namespacePrefix
        }
    }

    struct Port: Sendable, Hashable {
        var macAddress: String
        var network: InstanceNetwork
        /// The address its metadata requests leave the namespace from.
        var alias: String
    }

    public nonisolated let settings: Settings
    private let root: HostCommands
    private var hosts: [Int: VPCHost] = [:]
    private var ports: [String: Port] = [:]
    /// Which instance each alias names: the metadata service asks on every request.
    private var owners: [String: String] = [:]

    /// Records `port` as instance `id`'s, with its alias.
    private func place(_ id: String, _ port: Port) {
        if let old = ports[id]?.alias { owners[old] = nil }
        ports[id] = port
        owners[port.alias] = id
    }

    /// Forgets instance `id`'s port, and its alias.
    private func unplace(_ id: String) -> Port? {
        guard let port = ports.removeValue(forKey: id) else { return nil }
        owners[port.alias] = nil
        return port
    }
    private var policy = NetworkPolicy(groups: [])
    /// The VPCs whose last apply failed: applied again at the next call, whatever it brings.
    private var unapplied: Set<Int> = []

    /// One change at a time: each awaits commands, and two launches into a new VPC must not
    /// both make its namespace.
    private var busy = false
    private var waiting: [CheckedContinuation<Void, Never>] = []

    private func exclusively<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        while busy { await withCheckedContinuation { waiting.append($0) } }
        busy = true
        defer {
            busy = false
            if !waiting.isEmpty { waiting.removeFirst().resume() }
        }
        return try await body()
    }

    public init(settings: Settings, root: HostCommands = HostCommands()) {
        self.settings = settings
        self.root = root
    }

    /// The programs a node's VPC network runs, by name.
    public static let tools = ["ip", "bridge", "nft", "dnsmasq", "conntrack", "sysctl"]

    /// The first IPv4 address of `device`, or nil.
    public static func address(of device: String, root: HostCommands = HostCommands()) async throws -> String? {
        guard NetworkText.isDeviceName(device) else { throw EucaError(.invalidParameter, nil, "\"\(device.prefix(64))\" is not a device name") }
        let text = try await root.output(["ip", "-4", "-o", "address", "show", "dev", device])
        for line in text.split(separator: "\n") {
            let words = line.split(separator: " ")
            if let at = words.firstIndex(of: "inet"), at + 1 < words.count, let address = words[at + 1].split(separator: "/").first,
               NetworkText.ipv4(String(address)) != nil {
                return String(address)
            }
        }
        return nil
    }

    /// Whether this host's kernel makes 802.1Q VLAN devices: one is made on a bridge of the
    /// probe's own, and both are removed.
    public static func hasVLANs(root: HostCommands = HostCommands()) async -> Bool {
        let bridge = "eucaq\(UInt16.random(in: 0...UInt16.max))"
        guard (try? await root.run(["ip", "link", "add", bridge, "type", "bridge"])) != nil else { return false }
        let made = (try? await root.run(["ip", "link", "add", "link", bridge, "name", "\(bridge).2", "type", "vlan", "id", "2"])) != nil
        // The VLAN device goes with the bridge it is on.
        try? await root.run(["ip", "link", "del", bridge])
        return made
    }

    /// The ``tools`` that `PATH` does not hold.
    public static func missingTools(path: String? = nil) -> [String] {
        let path = path ?? ProcessInfo.processInfo.environment["PATH"] ?? "/usr/sbin:/usr/bin:/sbin:/bin"
        let directories = path.split(separator: ":").map(String.init)
        return tools.filter { tool in !directories.contains { FileManager.default.isExecutableFile(atPath: "\($0)/\(tool)") } }
    }

    /// Gives the host `endpoint`'s address (on a device of its own, `eucamd0`: a bridge with no
    /// ports, since kernels without the dummy driver have bridges) when no interface has it, so
    /// the metadata service can listen there; whether the device is this network's (made now, or
    /// by a run that was killed), so that it goes when the node stops.
    public static func provideMetadataAddress(_ endpoint: MetadataEndpoint, isLocal: Bool, root: HostCommands = HostCommands()) async throws -> Bool {
        let ours = (try? await root.run(["ip", "link", "show", metadataDevice])) != nil
        guard !isLocal || ours else { return false }
        guard NetworkText.ipv4(endpoint.address) != nil else { throw EucaError(.invalidParameter, nil, "\(endpoint.address.prefix(64)) is not IPv4") }
        if !ours {
            try await root.run(["ip", "link", "add", metadataDevice, "type", "bridge"])
        }
        try await root.run(["ip", "address", "replace", "\(endpoint.address)/32", "dev", metadataDevice])
        try await root.run(["ip", "link", "set", metadataDevice, "up"])
        return true
    }

    /// Removes the device ``provideMetadataAddress(_:isLocal:root:)`` made.
    public static func removeMetadataAddress(root: HostCommands = HostCommands()) async {
        try? await root.run(["ip", "link", "del", metadataDevice])
    }

    /// The device that holds the metadata address where no interface of the host does.
    public static let metadataDevice = "eucamd0"

    /// The host-side device of an instance's interface: `vn` and the id's digits (the last 13
    /// of a long id), within the kernel's 15 characters.
    public static func device(for instance: InstanceID) -> String { NetworkText.portName("vn", for: instance) }

    /// Takes over what an earlier run left: the VPCs of `running` (instances whose domains still
    /// run, with their taps in the VPC's namespace) are adopted as they are and made to match;
    /// every other VPC namespace of this prefix is removed. Each instance keeps the metadata
    /// alias it had (from the file the last run kept), so no alias ever names another instance.
    /// A VPC that cannot be made to match is kept as it is (its instances' taps live in it),
    /// retried at the next change, and named in the error thrown after every other is done.
    public func recover(running: [InstanceID: (macAddress: String, network: InstanceNetwork)]) async throws {
        try await exclusively {
            let wanted = Set(running.values.map(\.network.vni))
            for namespace in try await VPCHost.leftovers(prefix: settings.namespacePrefix)
            where !(Int(namespace.dropFirst(settings.namespacePrefix.count)).map(wanted.contains) ?? false) {
                try await VPCHost.remove(namespace: namespace, directory: settings.directory, root: root)
            }
            let kept = readAliases()
            for (id, instance) in running {
                if let alias = kept[id.rawValue], owners[alias] == nil {
                    place(id.rawValue, Port(macAddress: instance.macAddress, network: instance.network, alias: alias))
                }
            }
            for (id, instance) in running.sorted(by: { $0.key < $1.key }) where ports[id.rawValue] == nil {
                place(id.rawValue, Port(macAddress: instance.macAddress, network: instance.network, alias: try nextAlias()))
            }
            try writeAliases()
            var failed: [String] = []
            for vni in wanted.sorted() {
                guard let first = ports.values.first(where: { $0.network.vni == vni }) else { continue }
                do {
                    let host = try await host(vni: vni, block: first.network.vpcBlock, adopting: true)
                    for (id, port) in ports where port.network.vni == vni {
                        try? await host.attach(device: Self.device(for: InstanceID(rawValue: id)))
                    }
                    try await apply(vni: vni)
                } catch {
                    failed.append("VPC \(vni): \(error)")
                }
            }
            if !failed.isEmpty { throw EucaError(.internalFailure, nil, "not taken over: \(failed.joined(separator: "; "))") }
        }
    }

    /// Puts an instance's tap (made by the hypervisor, named ``device(for:)``) on its VPC, with
    /// its address and groups.
    public func attach(instance: InstanceID, macAddress: String, network: InstanceNetwork) async throws {
        try await exclusively {
            let host = try await host(vni: network.vni, block: network.vpcBlock, adopting: false)
            let alias = try ports[instance.rawValue]?.alias ?? nextAlias()
            place(instance.rawValue, Port(macAddress: macAddress, network: network, alias: alias))
            do {
                try writeAliases()
                try await host.attach(device: Self.device(for: instance))
                try await apply(vni: network.vni)
            } catch {
                // Nothing of a port that failed stays (nor the VPC, if it was its only one).
                try? await unplug(instance)
                throw error
            }
        }
    }

    /// Takes an instance off its VPC; the VPC's namespace goes with its last instance here.
    public func release(instance: InstanceID) async throws {
        try await exclusively { try await unplug(instance) }
    }

    private func unplug(_ instance: InstanceID) async throws {
        guard let port = unplace(instance.rawValue) else { return }
        try? writeAliases()
        let vni = port.network.vni
        if ports.values.contains(where: { $0.network.vni == vni }) {
            try await apply(vni: vni)
        } else if let host = hosts.removeValue(forKey: vni) {
            unapplied.remove(vni)
            try await host.stop()
            // The VPC's files named its elastic IPs; one may have moved to another VPC here.
            await reassertPublished()
        }
    }

    /// Makes every VPC here enforce `policy`; one older than the policy in force is ignored. A
    /// VPC that fails is applied again at the next call, even with the same policy.
    public func configure(_ policy: NetworkPolicy) async throws {
        try await exclusively {
            guard policy.generation >= self.policy.generation else { return }
            let changed = policy != self.policy
            guard changed || !unapplied.isEmpty else { return }
            self.policy = policy
            var failure: (any Error)?
            for vni in hosts.keys.sorted() where changed || unapplied.contains(vni) {
                do { try await apply(vni: vni) } catch { failure = failure ?? error }
            }
            // An elastic IP that moved between two VPCs here lost its proxy entry to the VPC it
            // left, when that one was applied after the one it joined.
            await reassertPublished()
            if let failure { throw failure }
        }
    }

    /// Answers again for every elastic IP in use here (idempotent).
    private func reassertPublished() async {
        for (_, host) in hosts.sorted(by: { $0.key < $1.key }) { await host.reassertProxies() }
    }

    /// The instance whose metadata requests come from `address`, an alias of this node's.
    public func instance(atAlias address: String) -> InstanceID? {
        owners[address].map(InstanceID.init(rawValue:))
    }

    /// The metadata alias of an instance here.
    public func alias(of instance: InstanceID) -> String? { ports[instance.rawValue]?.alias }

    /// The VPCs this node carries, by VNI.
    public var vnis: [Int] { hosts.keys.sorted() }

    /// Removes every VPC namespace of this node, with everything in it (the instances' taps too).
    public func stop() async throws {
        try await exclusively {
            for (_, host) in hosts.sorted(by: { $0.key < $1.key }) { try await host.stop() }
            hosts = [:]
            ports = [:]
            owners = [:]
        }
    }

    private func host(vni: Int, block: String, adopting: Bool) async throws -> VPCHost {
        if let host = hosts[vni] { return host }
        let host = VPCHost(
            vpc: try VPCSpec(vni: vni, cidr: block), directory: settings.directory, root: root, prefix: settings.namespacePrefix, dns: settings.dns,
            vlanParent: settings.vlanParent)
        do {
            try await host.start(adopting: adopting)
        } catch {
            // A namespace being taken over holds running instances' taps: it is never removed here.
            if !adopting { try? await host.stop() }
            throw error
        }
        // Known from here on, so no later launch makes its namespace anew; the uplink is made by
        // each apply until it is there.
        hosts[vni] = host
        do {
            try await host.connect(publicDevice: settings.publicDevice, metadata: settings.metadata)
        } catch {
            if !adopting {
                hosts[vni] = nil
                try? await host.stop()
            }
            throw error
        }
        return host
    }

    /// The metadata aliases: 169.254.128.1 to 169.254.168.254 (169.254.169.0/24 holds the
    /// metadata address itself), each block's .0 and .255 left out.
    static let aliasCount = 41 * 254

    static func alias(_ index: Int) -> String { "169.254.\(128 + index / 254).\(1 + index % 254)" }

    /// The lowest alias no port holds.
    private func nextAlias() throws -> String {
        for index in 0..<Self.aliasCount where owners[Self.alias(index)] == nil { return Self.alias(index) }
        throw EucaError(.insufficientCapacity, .node, "every metadata alias of this node is in use (\(Self.aliasCount) instances on a VPC)")
    }

    /// Where each port's alias is kept for the next run: `instance alias` lines.
    private var aliasFile: URL { URL(fileURLWithPath: settings.directory).appendingPathComponent("\(settings.namespacePrefix)aliases") }

    private func writeAliases() throws {
        try FileManager.default.createDirectory(atPath: settings.directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        let text = ports.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value.alias)\n" }.joined()
        let temporary = aliasFile.deletingLastPathComponent().appendingPathComponent(".aliases-\(UUID().uuidString)")
        try Data(text.utf8).write(to: temporary)
        guard rename(temporary.path, aliasFile.path) == 0 else { throw EucaError(.internalFailure, nil, "cannot write \(aliasFile.path)") }
    }

    private func readAliases() -> [String: String] {
        let text = (try? String(contentsOf: aliasFile, encoding: .utf8)) ?? ""
        var found: [String: String] = [:]
        let valid = Set((0..<Self.aliasCount).lazy.map(Self.alias))
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: " ")
            if parts.count == 2, valid.contains(String(parts[1])) { found[String(parts[0])] = String(parts[1]) }
        }
        return found
    }

    /// Makes one VPC's namespace match its ports here and the policy.
    private func apply(vni: Int) async throws {
        guard let host = hosts[vni] else { return }
        unapplied.insert(vni)
        try await host.connect(publicDevice: settings.publicDevice, metadata: settings.metadata)
        let local = ports.filter { $0.value.network.vni == vni }
        let plan = try Self.plan(
            vni: vni, ports: local.mapValues { ($0.macAddress, $0.network) }, policy: policy, underlay: settings.underlay, vlanParent: settings.vlanParent)
        try await host.apply(ports: plan.host.ports, groups: Array(plan.host.groups.values))
        // The VPC's instances on other nodes, over VXLAN from this node's underlay address (or,
        // MANAGED mode's segments, over VLANs where the node has them).
        if !plan.remote.isEmpty, let underlay = settings.underlay {
            try await host.join(underlay: underlay)
        }
        let overVLANs = settings.vlanParent != nil && !plan.remote.isEmpty && plan.remote.values.allSatisfy { $0.segment != nil }
        if await host.hasOverlay || overVLANs { try await host.reach(places: plan.remote) }
        let aliases = settings.metadata == nil ? [:] : Dictionary(local.values.map { ($0.network.privateIp, $0.alias) }) { first, _ in first }
        let routable = settings.publicDevice == nil ? [:] : plan.elasticIPs
        try await host.publish(routable, metadataAliases: aliases)
        unapplied.remove(vni)
        if routable.count != plan.elasticIPs.count {
            throw EucaError(.invalidParameter, nil, "elastic IPs need a public interface (VNET_PUBINTERFACE); \(plan.elasticIPs.count) cannot be routed")
        }
    }

    /// What one VPC on one node is made to be: its ports, the security groups they need (theirs,
    /// and those their rules name) and the elastic IPs of its instances (public → private).
    public struct Plan: Sendable, Hashable {
        public var vpc: VPCSpec
        public var host: HostPlan
        public var elasticIPs: [String: String]
        /// The VPC's instances on other nodes: private address → their node's underlay address
        /// (and, in MANAGED mode, their group's segment).
        public var remote: [String: RemotePlace] = [:]
        /// Where MANAGED mode's segments are VLANs: the device they are on.
        public var vlanParent: String?

        /// The plan as an operator reads it: the VPC, its ports, its elastic IPs, then the
        /// nftables table that enforces its groups.
        public var text: String {
            var lines = ["NETWORK\tvni \(vpc.vni)\tnamespace \(VPCHost.namespacePrefix)\(vpc.vni)\tblock \(vpc.cidr)\tgateway \(vpc.gateway)"]
            for port in host.ports {
                let subnet = port.subnet.map { "\tsubnet \($0) gateway \(host.gateway(of: port))" } ?? ""
                lines.append("PORT\t\(port.device)\t\(port.instanceId)\t\(port.macAddress)\t\(port.privateIp)\t\(port.groups.joined(separator: ","))\(subnet)")
            }
            for (address, instance) in elasticIPs.sorted(by: { $0.key < $1.key }) { lines.append("ELASTICIP\t\(address)\t\(instance)") }
            for (address, place) in remote.sorted(by: { $0.key < $1.key }) {
                let way = place.segment.map { segment in vlanParent.map { "vlan \(segment) on \($0)" } ?? "vxlan \(segment)" } ?? "vxlan \(vpc.vni)"
                lines.append("REMOTE\t\(address)\t\(way) to \(place.host)")
            }
            for problem in host.problems() { lines.append("PROBLEM\t\(problem)") }
            return lines.joined(separator: "\n") + "\n" + host.nftablesRuleset()
        }
    }

    /// The plan of VPC `vni` for `ports` (instance id → its MAC and place) under `policy`. Pure.
    /// `underlay` is this node's address: members of the VPC on other nodes are the plan's
    /// `remote`, where their nodes have said where they are.
    public static func plan(
        vni: Int, ports: [String: (macAddress: String, network: InstanceNetwork)], policy: NetworkPolicy, underlay: String? = nil,
        vlanParent: String? = nil
    ) throws -> Plan {
        let vpc = try VPCSpec(vni: vni, cidr: ports.values.first?.network.vpcBlock ?? NetworkSettings.vpcBlock)
        let instancePorts = ports.map { id, port in
            InstancePort(
                instanceId: id, device: Self.device(for: InstanceID(rawValue: id)), macAddress: port.macAddress,
                privateIp: port.network.privateIp, groups: port.network.groups, subnet: port.network.groupBlock)
        }
        // MANAGED mode: every group block is as large as these ports' own, and is a segment.
        let segments = ports.values.lazy.compactMap { $0.network.groupBlock.flatMap(NetworkText.cidr4) }.first.flatMap { groupBlock in
            NetworkText.cidr4(vpc.cidr).map { (network: $0.network, prefix: groupBlock.prefix) }
        }
        func segment(of address: String) -> Int? {
            guard let segments, let value = NetworkText.ipv4(address), value >= segments.network else { return nil }
            return Int((value - segments.network) >> UInt32(32 - segments.prefix)) + SegmentAddressing.firstSegment
        }
        var elasticIPs: [String: String] = [:], remote: [String: RemotePlace] = [:]
        for group in policy.groups {
            for (id, member) in group.members {
                if let port = ports[id], let publicIp = member.publicIp { elasticIPs[publicIp] = port.network.privateIp }
                if ports[id] == nil, member.vni == vni, let address = member.privateIp, let node = member.host, node != underlay,
                   NetworkText.ipv4(address) != nil, NetworkText.ipv4(node) != nil {
                    remote[address] = RemotePlace(host: node, segment: segment(of: address))
                }
            }
        }
        let host = HostPlan(gateway: vpc.gateway, ports: instancePorts, groups: policy.groups(neededBy: instancePorts.flatMap(\.groups)))
        return Plan(vpc: vpc, host: host, elasticIPs: elasticIPs, remote: remote, vlanParent: segments == nil ? nil : vlanParent)
    }
}
