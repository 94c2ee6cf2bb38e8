public import EucaCore
import Foundation

/// A VPC as one host carries it: its address block, the gateway address its instances are given,
/// and the VXLAN network identifier that names it across hosts.
public struct VPCSpec: Sendable, Hashable, Codable {
    public var vni: Int
    /// The VPC's block, `a.b.c.d/n`; instances' DHCP leases carry its netmask.
    public var cidr: String
    /// The instances' gateway, DHCP and DNS server: the block's first host address.
    public var gateway: String

    public init(vni: Int, cidr: String) throws {
        guard let block = NetworkText.cidr4(cidr), (8...28).contains(block.prefix) else {
            throw EucaError(.invalidParameter, nil, "\"\(cidr.prefix(64))\" is not an IPv4 block from /8 to /28")
        }
        guard (1...0xFFFFFF).contains(vni) else { throw EucaError(.invalidParameter, nil, "VNI \(vni) is not from 1 to 16777215") }
        self.vni = vni
        self.cidr = "\(AddressPool.format(block.network))/\(block.prefix)"
        gateway = AddressPool.format(block.network + 1)
    }

    /// The block's netmask, `255.255.240.0`.
    public var netmask: String {
        let prefix = NetworkText.cidr4(cidr)?.prefix ?? 32
        return AddressPool.format(prefix == 0 ? 0 : ~UInt32(0) << (32 - prefix))
    }

    public var network: String { String(cidr.split(separator: "/")[0]) }
}

/// One VPC on one host, in a network namespace of its own (`euca-v<vni>`), so VPCs whose blocks
/// overlap (every account's default VPC is 172.31.0.0/16) never meet. In it: the instances' taps,
/// moved in when they start; a route and proxy ARP per tap; DHCP (dnsmasq, a fixed address per
/// MAC); and the security groups (``HostNetworkApplier``, table `euca`).
///
/// ``stop()`` ends dnsmasq and deletes the namespace, with everything in it. A host that was
/// killed finds what it left with ``leftovers()`` and ends it with ``remove(namespace:directory:root:)``.
public actor VPCHost {
    /// How a VPC's namespace is named: this and its VNI.
    public static let namespacePrefix = "euca-v"
    public let vpc: VPCSpec
    public let namespace: String
    let root: HostCommands
    /// Commands in the VPC's namespace. Namespaces are made, entered and deleted from the
    /// machine's own mount namespace: one `ip netns add` makes inside `ip netns exec` is not seen
    /// outside it.
    let inside: HostCommands
    let directory: URL
    /// The DNS servers DHCP gives the instances (`VNET_DNS`); none when empty.
    let dns: [String]
    private let applier: HostNetworkApplier
    /// The DHCP server's process id.
    private var dhcp: Int32?
    /// The fixed lease of each MAC, as the files in `hosts.d` hold them (`mac[,set:tag],address`).
    private var leases: [String: String] = [:]
    /// The subnets whose DHCP options are in `opts.d` (MANAGED mode's group blocks), by tag.
    private var subnets: Set<String> = []
    /// Whether the uplink is made; the host's interface on the site's network, if it has one.
    var connected = false
    var uplink: String?
    var metadataEndpoint: MetadataEndpoint?
    /// The elastic IPs in use: public → private address.
    var published: [String: String] = [:]
    /// The instances' metadata aliases: private → alias address.
    var aliases: [String: String] = [:]
    /// This host's underlay address, once the VPC's VXLAN device is made.
    var overlay: String?
    /// The instances on other hosts: private address → where they are.
    var reached: [String: RemotePlace] = [:]
    /// The VNIs of the VXLAN devices made here, and the tags of the VLAN devices.
    var vxlans: Set<Int> = []
    var vlans: Set<Int> = []
    /// The device MANAGED mode's segments are VLANs on, where the host has 802.1Q; nil where
    /// they are VXLAN VNIs.
    let vlanParent: String?

    /// `directory` keeps the namespace's DHCP files; `root` runs commands where the taps appear;
    /// `prefix` names the namespace (another for each host a test stands up on one machine).
    public init(
        vpc: VPCSpec, directory: String, root: HostCommands = HostCommands(), prefix: String = VPCHost.namespacePrefix, dns: [String] = [],
        vlanParent: String? = nil
    ) {
        self.vpc = vpc
        self.vlanParent = vlanParent.flatMap { NetworkText.isDeviceName($0) ? $0 : nil }
        self.dns = dns.filter { NetworkText.ipv4($0) != nil }
        namespace = "\(prefix)\(vpc.vni)"
        self.root = root
        self.directory = URL(fileURLWithPath: directory).appendingPathComponent(namespace)
        inside = HostCommands(prefix: ["ip", "netns", "exec", namespace])
        applier = HostNetworkApplier(commands: inside, scratch: directory)
    }

    /// Makes the namespace and starts DHCP in it; a namespace left by an earlier run is ended
    /// first, unless `adopting` and it is whole (its DHCP server runs): then this takes it over as
    /// it is, for instances that kept running while the host's daemon was away (their taps live
    /// in it, and go with it).
    public func start(adopting: Bool = false) async throws {
        if adopting, try await Self.leftovers(prefix: namespace).contains(namespace), let pid = Self.dhcpServer(in: directory, namespace: namespace) {
            dhcp = pid
            let files = (try? FileManager.default.contentsOfDirectory(atPath: path("hosts.d"))) ?? []
            leases = [:]
            for file in files where !file.hasPrefix(".") {
                let line = (try? String(contentsOfFile: path("hosts.d/\(file)"), encoding: .utf8)) ?? ""
                if let mac = line.split(separator: ",").first { leases[String(mac)] = line }
            }
            subnets = Set(((try? FileManager.default.contentsOfDirectory(atPath: path("opts.d"))) ?? []).filter { !$0.hasPrefix(".") })
            let addresses = ((try? String(contentsOfFile: path("public"), encoding: .utf8)) ?? "").split(separator: "\n")
            published = Dictionary(addresses.map { (String($0), "") }) { first, _ in first }
            return
        }
        try await Self.remove(namespace: namespace, directory: directory.deletingLastPathComponent().path, root: root)
        // dnsmasq reads its hosts after dropping root: the directory (and every one above it)
        // must be open to it.
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        try await HostCommands().run(["ip", "netns", "add", namespace])
        try await inside.run(["ip", "link", "set", "lo", "up"])
        for name in ["hosts.d", "opts.d"] {
            try FileManager.default.createDirectory(
                at: directory.appendingPathComponent(name), withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        }
        leases = [:]
        subnets = []
        // dnsmasq runs as a daemon of its own, known by its pid file, so a host that was killed
        // finds it again (and the server outlives no namespace: ``remove`` ends both).
        try await inside.run([
            "dnsmasq", "--conf-file=/dev/null", "--port=0", "--bind-dynamic",
            "--interface=vn*", "--except-interface=lo", "--log-facility=\(path("dnsmasq.log"))", "--quiet-dhcp", "--dhcp-authoritative",
            "--dhcp-range=\(vpc.network),static,\(vpc.netmask),1h",
            "--dhcp-option=option:router,\(vpc.gateway)",
        ] + (dns.isEmpty ? [] : ["--dhcp-option=option:dns-server,\(dns.joined(separator: ","))"]) + [
            "--dhcp-hostsdir=\(path("hosts.d"))", "--dhcp-optsdir=\(path("opts.d"))", "--dhcp-leasefile=\(path("leases"))", "--pid-file=\(path("dnsmasq.pid"))",
        ])
        guard let pid = Self.dhcpServer(in: directory, namespace: namespace) else {
            throw EucaError(.internalFailure, nil, "dnsmasq for \(namespace) did not start; see \(path("dnsmasq.log"))")
        }
        dhcp = pid
    }

    /// Moves a tap the hypervisor made into the namespace (it may be there already).
    public func attach(device: String) async throws {
        guard NetworkText.isPortName(device) else { throw EucaError(.invalidParameter, nil, "\"\(device.prefix(64))\" is not a port name") }
        if (try? await inside.run(["ip", "link", "show", device])) != nil { return }
        try await root.run(["ip", "link", "set", device, "netns", namespace])
        try await inside.run(["ip", "link", "set", device, "up"])
    }

    /// Makes the namespace match `ports` and `groups`: each port's lease, route and filter.
    public func apply(ports: [InstancePort], groups: [GroupPolicy], gatewayServices: [Int] = [53]) async throws {
        let plan = HostPlan(gateway: vpc.gateway, ports: ports, groups: groups, gatewayServices: gatewayServices)
        try await applier.apply(plan)
        // A port on a subnet of its own (MANAGED mode) is leased with a tag naming the subnet,
        // whose netmask and router are in a file of `opts.d`, written first.
        for port in plan.ports {
            guard let subnet = port.subnet, let block = NetworkText.cidr4(subnet) else { continue }
            let tag = Self.subnetTag(subnet)
            guard !subnets.contains(tag) else { continue }
            let mask = AddressPool.format(block.prefix == 0 ? 0 : ~UInt32(0) << (32 - block.prefix))
            try write("tag:\(tag),option:netmask,\(mask)\ntag:\(tag),option:router,\(plan.gateway(of: port))\n", to: "opts.d/\(tag)")
            subnets.insert(tag)
        }
        // One file per MAC in the directory dnsmasq watches: a new or changed one is read as it
        // lands; a removed one is forgotten only when dnsmasq re-reads everything (SIGHUP).
        let wanted = Dictionary(plan.ports.map { port in
            (port.macAddress.lowercased(), "\(port.macAddress.lowercased()),\(port.subnet.map { "set:\(Self.subnetTag($0))," } ?? "")\(port.privateIp)\n")
        }) { first, _ in first }
        for (mac, line) in wanted where leases[mac] != line {
            try write(line, to: Self.leaseFile(mac))
            leases[mac] = line
        }
        let gone = leases.keys.filter { wanted[$0] == nil }
        for mac in gone {
            try? FileManager.default.removeItem(atPath: path(Self.leaseFile(mac)))
            leases[mac] = nil
        }
        if !gone.isEmpty, let dhcp { kill(dhcp, SIGHUP) }
    }

    /// Ends DHCP and deletes the namespace with all it holds.
    public func stop() async throws {
        dhcp = nil
        try await Self.remove(namespace: namespace, directory: directory.deletingLastPathComponent().path, root: root)
        uplink = nil
        connected = false
        metadataEndpoint = nil
        published = [:]
        aliases = [:]
        overlay = nil
        reached = [:]
        vxlans = []
        vlans = []
    }

    /// The VPC namespaces this machine has, as `ip netns` lists them.
    public static func leftovers(prefix: String = namespacePrefix) async throws -> [String] {
        let listing = try await HostCommands().output(["ip", "netns", "list"])
        return listing.split(separator: "\n").compactMap { line in
            let name = String(line.split(separator: " ")[0])
            return name.hasPrefix(prefix) ? name : nil
        }
    }

    /// Ends what a VPC namespace holds (its DHCP server, by the pid file it left) and deletes it.
    /// `root` runs commands where the taps appear and the uplink leaves.
    public static func remove(namespace: String, directory: String, root: HostCommands = HostCommands()) async throws {
        let files = URL(fileURLWithPath: directory).appendingPathComponent(namespace)
        let vni = Int(String(namespace.reversed().prefix { $0.isNumber }.reversed()))
        if let vni { await removeUplink(files: files, vni: vni, root: root) }
        if let pid = dhcpServer(in: files, namespace: namespace) {
            kill(pid, SIGKILL)
            for _ in 0..<100 where dhcpServer(in: files, namespace: namespace) != nil { try await Task.sleep(for: .milliseconds(10)) }
        }
        if try await leftovers(prefix: namespace).contains(namespace) {
            try await HostCommands().run(["ip", "netns", "del", namespace])
            if let vni { await awaitUplinkGone(vni: vni, root: root) }
        }
        try? FileManager.default.removeItem(at: files)
    }

    /// The running dnsmasq the pid file in `directory` names; nil when there is none (the pid
    /// may have been reused since, by a process that is not a dnsmasq; a killed one may linger
    /// unreaped, a zombie).
    /// `namespace`, when it still exists, must be the process's network namespace too: a pid
    /// reused by another VPC's dnsmasq is not this one's.
    static func dhcpServer(in directory: URL, namespace: String) -> Int32? {
        guard let text = try? String(contentsOf: directory.appendingPathComponent("dnsmasq.pid"), encoding: .utf8),
              let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)), pid > 1,
              let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              stat.contains("(dnsmasq)"), let state = stat.split(separator: ")").last?.split(separator: " ").first, state != "Z"
        else { return nil }
        if let inode = (try? FileManager.default.attributesOfItem(atPath: "/run/netns/\(namespace)"))?[.systemFileNumber] as? UInt64,
           let link = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/ns/net"), link != "net:[\(inode)]" {
            return nil
        }
        return pid
    }

    /// The DHCP tag of a subnet: `s` and its network and prefix, `s10_10_0_16_28`.
    static func subnetTag(_ subnet: String) -> String { "s" + NetworkText.identifier(subnet) }

    /// A MAC's file in the directory dnsmasq watches.
    private static func leaseFile(_ mac: String) -> String { "hosts.d/\(mac.replacingOccurrences(of: ":", with: "-"))" }

    private func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    /// Writes a file whole: a reader never sees it half written.
    func write(_ text: String, to name: String) throws {
        let url = directory.appendingPathComponent(name)
        let temporary = directory.appendingPathComponent(".new-\(UUID().uuidString)")
        try Data(text.utf8).write(to: temporary)
        guard rename(temporary.path, url.path) == 0 else { throw EucaError(.internalFailure, nil, "cannot write \(url.path): errno \(errno)") }
    }
}
