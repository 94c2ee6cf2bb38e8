public import EucaCore
public import EucaHypervisor
public import EucaNet
import Foundation
public import Logging
import Metrics

/// The node controller: runs instances on one host through a ``Hypervisor``.
///
/// The node keeps its own record of each instance it hosts in its ``StateStore`` (LMDB under
/// the daemon's state directory), so after a restart it knows what it runs and what each instance
/// takes of the host, and can define a stopped instance again if the hypervisor lost it. Stopped instances keep
/// their share of the node, so they can always start again where they were.
public actor NodeController: NodeControllerAPI {
    public nonisolated let node: NodeID
    private let hypervisor: any Hypervisor
    private let settings: NodeSettings
    private let logger: Logger
    /// Where the records live; ``open(hypervisor:settings:images:store:neighbours:logger:)`` reads
    /// them back after a restart.
    private let store: any StateStore
    private var records = RecordTable()
    private var busy: Set<InstanceID> = []
    /// Instances being terminated: their domain may be gone before their files are.
    private var ending: Set<InstanceID> = []
    private var host: HostInfo?
    private let images: ImageCache?
    /// The image files each instance holds in the cache (released when it is terminated).
    private var pins: [InstanceID: [String]] = [:]
    /// Where the node's neighbour table comes from (a file in the `/proc/net/arp` format).
    private let neighbours: @Sendable () -> NeighbourTable
    /// Whether the records loaded at start have been checked against the hypervisor's domains.
    private var recordsChecked = false
    /// Addresses recently matched to instances, for the metadata service.
    private var addressCache: [String: (id: InstanceID, at: Date)] = [:]
    /// Where the node reads the time.
    private let clock: any EucaClock
    /// The VPC network of the node's instances, where it has one (root, on a hypervisor that
    /// boots guests); instances on a VPC need it.
    private let network: VPCNodeNetwork?
    /// The security groups of the instances bridged onto `VNET_BRIDGE` (SYSTEM mode), where the
    /// node enforces them.
    private let bridged: BridgedNodeNetwork?
    /// The network policy the cloud last sent, and the public addresses it names.
    private var policy: NetworkPolicy?
    private var publicAddresses: [String: String] = [:]

    struct Record: Codable, Sendable {
        var launch: InstanceLaunch
        var stopped: Bool
    }

    /// The records by instance id, with the room they hold kept as a running sum, so a launch
    /// checks the node's room without a pass over every instance. Each record is held in a box,
    /// so the table's slots are a reference each rather than a whole launch.
    struct RecordTable: Sequence {
        final class Box: Sendable {
            let record: Record
            init(_ record: Record) { self.record = record }
        }

        private var byId: [InstanceID: Box] = [:]
        private(set) var usedCores = 0
        private(set) var usedMemoryMiB = 0
        private(set) var usedDiskGiB = 0

        init(_ records: [InstanceID: Record] = [:]) {
            for (id, record) in records { self[id] = record }
        }

        subscript(id: InstanceID) -> Record? {
            get { byId[id]?.record }
            set {
                if let old = byId[id] { count(old.record.launch.vmType, -1) }
                byId[id] = newValue.map(Box.init)
                if let new = newValue { count(new.launch.vmType, 1) }
            }
        }

        private mutating func count(_ type: VMType, _ sign: Int) {
            usedCores += sign * type.cores
            usedMemoryMiB += sign * type.memoryMiB
            usedDiskGiB += sign * type.diskGiB
        }

        var values: LazyMapSequence<Dictionary<InstanceID, Box>.Values, Record> { byId.values.lazy.map(\.record) }
        var count: Int { byId.count }
        var isEmpty: Bool { byId.isEmpty }
        func makeIterator() -> some IteratorProtocol<(key: InstanceID, value: Record)> {
            byId.lazy.map { (key: $0.key, value: $0.value.record) }.makeIterator()
        }
    }

    /// The node's records of its instances, keyed by instance id.
    static let recordsCollection = StoreCollection<Record>("node-instances")
    /// The network policy the cloud last sent, kept across restarts under the key `policy`.
    static let policyCollection = StoreCollection<NetworkPolicy>("node-network-policy")

    /// - Parameter images: where kernels, ramdisks and disks come from for a hypervisor that boots
    ///   real guests (`kvm` or `qemu`); without it, or on other hypervisors, launches boot nothing.
    /// - Parameter neighbours: the node's neighbour table (by default the kernel's).
    /// - Parameter store: where the node records its instances; a node made with this
    ///   initializer starts with none (``open(hypervisor:settings:images:store:neighbours:clock:logger:)``
    ///   reads back what a store holds).
    public init(
        hypervisor: any Hypervisor, settings: NodeSettings, images: ImageCache? = nil, store: any StateStore = InMemoryStateStore(),
        neighbours: @escaping @Sendable () -> NeighbourTable = { NeighbourTable.read() }, clock: any EucaClock = SystemClock(),
        network: VPCNodeNetwork? = nil, bridged: BridgedNodeNetwork? = nil, logger: Logger
    ) throws {
        try self.init(
            hypervisor: hypervisor, settings: settings, images: images, store: store, records: [:], policy: nil, neighbours: neighbours,
            clock: clock, network: network, bridged: bridged, logger: logger)
    }

    private init(
        hypervisor: any Hypervisor, settings: NodeSettings, images: ImageCache?, store: any StateStore, records: [InstanceID: Record],
        policy: NetworkPolicy?, neighbours: @escaping @Sendable () -> NeighbourTable, clock: any EucaClock, network: VPCNodeNetwork?,
        bridged: BridgedNodeNetwork?, logger: Logger
    ) throws {
        self.node = settings.node
        self.network = network
        self.bridged = settings.bridge == nil ? nil : bridged
        self.policy = policy
        publicAddresses = Self.publicAddresses(in: policy)
        self.clock = clock
        self.store = store
        self.hypervisor = hypervisor
        self.images = images
        self.neighbours = neighbours
        self.settings = settings
        var logger = logger
        logger[metadataKey: "euca.node"] = "\(settings.node)"
        self.logger = logger
        try FileManager.default.createDirectory(atPath: settings.instancePath, withIntermediateDirectories: true)
        self.records = RecordTable(records)
    }

    /// A node controller over `store`, with the records of the instances it held when it last
    /// ran. Records an earlier release kept as `instance.json` files in the instance directories
    /// are moved into the store once.
    public static func open(
        hypervisor: any Hypervisor, settings: NodeSettings, images: ImageCache? = nil, store: any StateStore,
        neighbours: @escaping @Sendable () -> NeighbourTable = { NeighbourTable.read() }, clock: any EucaClock = SystemClock(),
        network: VPCNodeNetwork? = nil, bridged: BridgedNodeNetwork? = nil, logger: Logger
    ) async throws -> NodeController {
        try await importLegacyRecords(from: settings.instancePath, into: store, logger: logger)
        let (records, policy) = try await store.read { txn in
            (Dictionary(uniqueKeysWithValues: try txn.all(recordsCollection).map { (InstanceID(rawValue: $0.key), $0.value) }),
             try txn.get("policy", from: policyCollection))
        }
        if !records.isEmpty { logger.info("node records loaded", metadata: ["instances": "\(records.count)"]) }
        return try NodeController(
            hypervisor: hypervisor, settings: settings, images: images, store: store, records: records, policy: policy, neighbours: neighbours,
            clock: clock, network: network, bridged: bridged, logger: logger)
    }

    /// Moves `instance.json` files (as releases before the node's store wrote them) into `store`.
    private static func importLegacyRecords(from path: String, into store: any StateStore, logger: Logger) async throws {
        var found: [(InstanceID, Record, String)] = []
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? [] {
            guard let id = InstanceID(parsing: entry) else { continue }
            let file = "\(path)/\(entry)/instance.json"
            guard let data = FileManager.default.contents(atPath: file) else { continue }
            do {
                found.append((id, try JSONDecoder().decode(Record.self, from: data), file))
            } catch {
                logger.warning("ignoring an unreadable instance record", metadata: ["euca.instance": "\(id)", "error": "\(error)"])
            }
        }
        guard !found.isEmpty else { return }
        let records = found.map { ($0.0, $0.1) }
        try await store.write { txn in
            for (id, record) in records where try txn.get(id.rawValue, from: recordsCollection) == nil {
                try txn.put(record, at: id.rawValue, in: recordsCollection)
            }
        }
        for (_, _, file) in found { try? FileManager.default.removeItem(atPath: file) }
        logger.notice("instance records moved into the node's store", metadata: ["instances": "\(found.count)"])
    }

    private func directory(_ id: InstanceID) -> String { "\(settings.instancePath)/\(id)" }

    private func save(_ record: Record) async throws {
        let id = record.launch.instanceId
        try FileManager.default.createDirectory(atPath: directory(id), withIntermediateDirectories: true)
        try await store.write { txn in try txn.put(record, at: id.rawValue, in: Self.recordsCollection) }
    }

    private func forget(_ id: InstanceID) async {
        records[id] = nil
        await releaseNetwork(id)
        do {
            try await store.write { txn in _ = try txn.delete(id.rawValue, from: Self.recordsCollection) }
        } catch {
            logger.error("could not forget an instance's record", metadata: ["euca.instance": "\(id)", "error": "\(error)"])
        }
        try? FileManager.default.removeItem(atPath: directory(id))
        if let held = pins.removeValue(forKey: id), let images {
            for sha in held { await images.release(sha) }
        }
    }

    /// Whether instances here boot real guests from image files.
    private var bootsImages: Bool {
        images != nil && hypervisor.capabilities.domainType.bootsGuests
    }

    /// Pins, in the image cache, the files of the instances the node already had when it started,
    /// so none is evicted while an instance needs it. Call once after start.
    public func restoreImagePins() async {
        guard bootsImages, let images else { return }
        for (id, record) in records where pins[id] == nil {
            var held: [String] = []
            for artifact in record.launch.boot.artifacts {
                if let sha = artifact.sha256?.lowercased(), await images.pin(sha) { held.append(sha) }
            }
            pins[id] = held
        }
    }

    private func domainSpec(_ launch: InstanceLaunch) async throws -> DomainSpec {
        if launch.boot.isEmpty && hypervisor.capabilities.domainType.bootsGuests {
            throw EucaError(
                .invalidParameter, .image,
                "Image \(launch.imageId) has no kernel or disk to boot; it runs only on libvirt's test driver.")
        }
        if bootsImages { return try await imageSpec(launch) }
        return DomainSpec(
            instanceId: launch.instanceId, vcpus: launch.vmType.cores, memoryMiB: launch.vmType.memoryMiB,
            kernelPath: launch.boot.kernel?.location, ramdiskPath: launch.boot.ramdisk?.location,
            commandLine: launch.boot.commandLine, diskPath: launch.boot.disk?.location, diskFormat: "raw",
            macAddress: launch.macAddress, bridge: launch.network == nil ? settings.bridge : nil, tapDevice: try tapDevice(launch),
            consoleLogPath: hypervisor.capabilities.writesConsoleLog ? "\(directory(launch.instanceId))/console.log" : nil)
    }

    /// The domain of a real guest: kernel and ramdisk from the image cache, the root disk a qcow2
    /// overlay in the instance's directory backed by the cached disk image.
    private func imageSpec(_ launch: InstanceLaunch) async throws -> DomainSpec {
        guard let images else { throw EucaError(.internalFailure, .node, "node \(node) has no image cache") }
        let id = launch.instanceId
        let boot = launch.boot
        // Each file is pinned once per instance; a failed launch releases what it pinned (forget).
        func path(_ artifact: ImageArtifact?) async throws -> String? {
            guard let artifact else { return nil }
            let sha = artifact.sha256?.lowercased() ?? ""
            let cached = images.path(of: sha)
            if pins[id]?.contains(sha) == true, FileManager.default.fileExists(atPath: cached) { return cached }
            let path = try await images.acquire(artifact)
            pins[id, default: []].append(sha)
            return path
        }
        let kernel = try await path(boot.kernel), ramdisk = try await path(boot.ramdisk), disk = try await path(boot.disk)
        var overlay: String?
        if let disk {
            let file = "\(directory(id))/root.qcow2"
            if !FileManager.default.fileExists(atPath: file) {
                try await Overlay.create(at: file, backing: disk)
            }
            overlay = file
        }
        return DomainSpec(
            instanceId: id, vcpus: launch.vmType.cores, memoryMiB: launch.vmType.memoryMiB,
            kernelPath: kernel, ramdiskPath: ramdisk, commandLine: boot.commandLine.isEmpty ? Self.defaultCommandLine : boot.commandLine,
            diskPath: overlay, diskFormat: "qcow2",
            macAddress: launch.macAddress, bridge: launch.network == nil ? settings.bridge : nil, tapDevice: try tapDevice(launch),
            consoleLogPath: "\(directory(id))/console.log")
    }

    /// The tap of an instance on a VPC, on a node that has the VPC network; a node without one
    /// refuses such a launch where guests boot (its instance would have no network).
    private func tapDevice(_ launch: InstanceLaunch) throws -> String? {
        guard launch.network != nil else { return bridged == nil ? nil : BridgedPlan.device(for: launch.instanceId) }
        guard network != nil else {
            guard !hypervisor.capabilities.domainType.bootsGuests else {
                throw EucaError(.unavailable, .node, "node \(node) has no VPC network (it needs root, ip, nft, dnsmasq and conntrack)")
            }
            return nil
        }
        return VPCNodeNetwork.device(for: launch.instanceId)
    }

    /// Puts a started instance's tap on its VPC.
    private func attachNetwork(_ launch: InstanceLaunch) async throws {
        if launch.network == nil, let bridged {
            try await bridged.attach(instance: launch.instanceId, macAddress: launch.macAddress)
            return
        }
        guard let network, let place = launch.network else { return }
        try await network.attach(instance: launch.instanceId, macAddress: launch.macAddress, network: place)
    }

    /// Takes an instance off its VPC (its tap is gone or going).
    private func releaseNetwork(_ id: InstanceID) async {
        do {
            try await bridged?.release(instance: id)
            try await network?.release(instance: id)
        } catch {
            logger.error("could not take an instance off its network", metadata: ["euca.instance": "\(id)", "error": "\(error)"])
        }
    }

    /// Takes over the VPC namespaces an earlier run left for the instances that still run, and
    /// removes the others. Call once after start.
    public func restoreNetwork() async {
        if let bridged { await restoreBridged(bridged) }
        guard let network else { return }
        do {
            if let policy { try await network.configure(policy) }
            let domains = try await hypervisor.list()
            var running: [InstanceID: (macAddress: String, network: InstanceNetwork)] = [:]
            // Domains that run: a shut-off one's tap is gone, and nothing of its VPC is kept for it.
            for (id, record) in records where !record.stopped && [.running, .paused, .other].contains(domains[id]) {
                if let place = record.launch.network { running[id] = (record.launch.macAddress, place) }
            }
            try await network.recover(running: running)
            if !running.isEmpty { logger.info("VPC network taken over", metadata: ["instances": "\(running.count)"]) }
        } catch {
            logger.error("could not take over the VPC network", metadata: ["error": "\(error)"])
        }
    }

    /// The kernel command line of an image that names none: the console on the serial port
    /// (logged to the instance's console file) and the root disk on the first virtio disk.
    public static let defaultCommandLine = "console=ttyS0 root=/dev/vda"

    /// Log metadata with the id of the client request being served, when there is one.
    static func metadata(_ values: [String: String]) -> Logger.Metadata {
        RequestID.tagged(values).mapValues { .string($0) }
    }

    // MARK: - NodeControllerAPI

    /// Forgets, once after start, the records of instances that ran and whose domains are gone
    /// (a host restart, or a hypervisor whose domains live in the process), so they hold no room
    /// that launches after a restart need. Stopped instances keep theirs.
    private func forgetVanishedOnce() async throws {
        guard !recordsChecked else { return }
        await forgetVanished(try await hypervisor.list())
    }

    /// Forgets the instances that ran and whose domains are not among `domains` (a host restart
    /// on a hypervisor without persistent domains): they are absent, and their files go.
    private func forgetVanished(_ domains: [InstanceID: DomainState]) async {
        recordsChecked = true
        let candidates = records.compactMap { id, record in
            domains[id] == nil && !record.stopped && !busy.contains(id) && !ending.contains(id) ? id : nil
        }
        for id in candidates {
            // `domains` was listed before: a launch may have taken the id and booted since. Only
            // a record whose domain the hypervisor does not know now is gone.
            guard let record = records[id], !record.stopped, !busy.contains(id), !ending.contains(id) else { continue }
            do {
                guard try await hypervisor.state(of: id) == nil, records[id] != nil, !busy.contains(id) else { continue }
            } catch {
                continue
            }
            logger.warning("an instance's domain is gone", metadata: ["euca.instance": "\(id)"])
            await forget(id)
        }
    }

    public func runInstance(_ launch: InstanceLaunch) async throws -> InstanceReport {
        let id = launch.instanceId
        if records[id] == nil { try await forgetVanishedOnce() }
        if records[id] != nil, let state = try await hypervisor.state(of: id), state != .shutoff {
            return InstanceReport(instanceId: id, node: node, state: state.observed)
        }
        if records[id] == nil {
            try await ensureRoom(for: launch.vmType)
            let record = Record(launch: launch, stopped: false)
            records[id] = record
            // Launching from the moment it is recorded: a describe meanwhile must not take the
            // record without a domain for one whose domain is gone.
            busy.insert(id)
            do {
                try await save(record)
            } catch {
                busy.remove(id)
                records[id] = nil
                throw error
            }
        }
        return try await boot(launch, .launch)
    }

    public func startInstance(_ launch: InstanceLaunch) async throws -> InstanceReport {
        let id = launch.instanceId
        try await forgetVanishedOnce()
        if let existing = records[id] {
            // A stopped instance whose type was changed needs room for the difference.
            let old = existing.launch.vmType, new = launch.vmType
            if new != old {
                let free = try await freeResources()
                guard free.freeCores + old.cores >= new.cores, free.freeMemoryMiB + old.memoryMiB >= new.memoryMiB,
                    free.freeDiskGiB + old.diskGiB >= new.diskGiB
                else {
                    throw EucaError(.insufficientCapacity, .node, "node \(node) has no room for \(new.name)")
                }
            }
        } else {
            try await ensureRoom(for: launch.vmType)
        }
        let record = Record(launch: launch, stopped: false)
        records[id] = record
        try await save(record)
        return try await boot(launch, .start)
    }

    private func ensureRoom(for type: VMType) async throws {
        guard try await freeResources().available(type) > 0 else {
            throw EucaError(.insufficientCapacity, .node, "node \(node) has no room for \(type.name)")
        }
    }

    /// How a domain comes up: defined anew for a launch, or started again from its definition.
    private enum BootKind: String {
        case launch, start
    }

    private func boot(_ launch: InstanceLaunch, _ kind: BootKind) async throws -> InstanceReport {
        let id = launch.instanceId
        busy.insert(id)
        defer { busy.remove(id) }
        do {
            let spec = try await domainSpec(launch)
            switch kind {
            case .start: try await hypervisor.start(spec)
            case .launch: try await hypervisor.launch(spec)
            }
            do {
                try await attachNetwork(launch)
            } catch {
                // An instance without its network is not started: it would run unreachable.
                if kind == .launch { try? await hypervisor.terminate(id) } else { try? await hypervisor.shutdown(id, timeout: .zero) }
                throw error
            }
        } catch {
            if kind == .launch { await forget(id) }
            logger.error("\(kind.rawValue) failed", metadata: ["euca.instance": "\(id)", "error": "\(error)"])
            throw error
        }
        logger.info("instance \(kind.rawValue)ed", metadata: Self.metadata(["euca.instance": "\(id)", "euca.vmtype": "\(launch.vmType.name)"]))
        let state = try await hypervisor.state(of: id)
        return InstanceReport(instanceId: id, node: node, state: state?.observed ?? .absent)
    }

    public func terminateInstance(_ id: InstanceID) async throws {
        ending.insert(id)
        defer { ending.remove(id) }
        try await hypervisor.terminate(id)
        if records[id] != nil { logger.info("instance terminated", metadata: Self.metadata(["euca.instance": "\(id)"])) }
        await forget(id)
    }

    public func stopInstance(_ id: InstanceID) async throws {
        guard var record = records[id] else {
            // Not ours: nothing to keep, but make sure no domain runs.
            try await hypervisor.shutdown(id, timeout: settings.shutdownTimeout)
            return
        }
        try await hypervisor.shutdown(id, timeout: settings.shutdownTimeout)
        await releaseNetwork(id)
        record.stopped = true
        records[id] = record
        try await save(record)
        logger.info("instance stopped", metadata: Self.metadata(["euca.instance": "\(id)"]))
    }

    public func rebootInstance(_ id: InstanceID) async throws {
        do {
            try await hypervisor.reboot(id)
        } catch let error as HypervisorError where error.code == .notFound {
            throw EucaError(.notFound, .instance, "node \(node) has no instance \(id)")
        }
        logger.info("instance rebooted", metadata: Self.metadata(["euca.instance": "\(id)"]))
    }

    public func describeInstances() async throws -> [InstanceReport] {
        let domains = try await hypervisor.list()
        let addresses = settings.bridge == nil ? [:] : neighbours().addresses(device: settings.bridge)
        var reports: [InstanceReport] = []
        for (id, state) in domains {
            let address = records[id].flatMap { $0.launch.network?.privateIp ?? addresses[$0.launch.macAddress.lowercased()] }
            reports.append(InstanceReport(
                instanceId: id, node: node, state: busy.contains(id) ? .launching : state.observed, privateIp: address,
                metadataOptions: records[id].map { $0.launch.metadataOptions ?? MetadataOptions() }))
        }
        await forgetVanished(domains)
        for (id, record) in records where domains[id] == nil && !ending.contains(id) {
            if busy.contains(id) {
                reports.append(InstanceReport(instanceId: id, node: node, state: .launching))
            } else if record.stopped {
                // A stopped instance whose definition the hypervisor lost can be defined again.
                reports.append(InstanceReport(instanceId: id, node: node, state: .shutoff))
            }
        }
        return reports.sorted { $0.instanceId < $1.instanceId }
    }

    public func describeResource() async throws -> NodeResources {
        try await forgetVanishedOnce()
        return try await freeResources()
    }

    private func freeResources() async throws -> NodeResources {
        let host = try await hostSize()
        let (cores, memory, disk) = (records.usedCores, records.usedMemoryMiB, records.usedDiskGiB)
        let dimensions = [("node", node.rawValue)]
        Gauge(label: "euca_node_instances", dimensions: dimensions).record(records.count)
        Gauge(label: "euca_node_cores_used", dimensions: dimensions).record(cores)
        Gauge(label: "euca_node_memory_used_mib", dimensions: dimensions).record(memory)
        return NodeResources(
            node: node, totalCores: host.cores, freeCores: host.cores - cores,
            totalMemoryMiB: host.memoryMiB, freeMemoryMiB: host.memoryMiB - memory,
            totalDiskGiB: host.diskGiB, freeDiskGiB: host.diskGiB - disk, instances: records.count, underlay: network?.settings.underlay,
            enforcesNetwork: network != nil || bridged != nil)
    }

    private func hostSize() async throws -> (cores: Int, memoryMiB: Int, diskGiB: Int) {
        let info: HostInfo
        if let host { info = host } else {
            info = try await hypervisor.hostInfo()
            host = info
        }
        let disk = settings.maxDiskGiB ?? Self.freeDiskGiB(at: settings.instancePath)
        return (settings.maxCores ?? info.cores, settings.maxMemoryMiB ?? info.memoryMiB, disk)
    }

    private static func freeDiskGiB(at path: String) -> Int {
        let attributes = try? FileManager.default.attributesOfFileSystem(forPath: path)
        let bytes = (attributes?[.systemFreeSize] as? NSNumber)?.int64Value ?? 0
        return Int(bytes / (1 << 30))
    }

    /// The public address of each instance the policy names, by instance id.
    static func publicAddresses(in policy: NetworkPolicy?) -> [String: String] {
        var found: [String: String] = [:]
        for group in policy?.groups ?? [] {
            for (id, member) in group.members { if let address = member.publicIp { found[id] = address } }
        }
        return found
    }

    /// Holds the taps of the bridged instances that still run to their MACs and groups.
    private func restoreBridged(_ bridged: BridgedNodeNetwork) async {
        do {
            if let policy { try await bridged.configure(policy) }
            let domains = try await hypervisor.list()
            for (id, record) in records where record.launch.network == nil && !record.stopped && [.running, .paused, .other].contains(domains[id]) {
                try await bridged.attach(instance: id, macAddress: record.launch.macAddress)
            }
        } catch {
            logger.error("could not filter the bridged instances' traffic", metadata: ["error": "\(error)"])
        }
    }

    public func configureNetwork(_ policy: NetworkPolicy) async throws {
        // Older than the one held: it came late (a newer one overtook it on the way).
        if let held = self.policy, policy.generation < held.generation { return }
        let changed = policy != self.policy
        // Taken before the first wait, so a newer one arriving meanwhile is compared with it.
        self.policy = policy
        publicAddresses = Self.publicAddresses(in: policy)
        if changed {
            try await store.write { txn in try txn.put(policy, at: "policy", in: Self.policyCollection) }
            logger.debug("network policy taken", metadata: [
                "groups": "\(policy.groups.count)", "members": "\(policy.groups.reduce(0) { $0 + $1.members.count })",
                "generation": "\(policy.generation)", "vpc": "\(network == nil ? "none on this node" : "applied")",
            ])
        }
        try await bridged?.configure(policy)
        try await network?.configure(policy)
    }

    /// The network policy the node holds (the last the cloud sent, kept across restarts).
    public var networkPolicy: NetworkPolicy? { policy }

    public func modifyInstanceMetadataOptions(_ id: InstanceID, _ options: MetadataOptions) async throws {
        guard var record = records[id] else { throw EucaError(.notFound, .instance, "node \(node) has no instance \(id)") }
        guard record.launch.metadataOptions != options else { return }
        record.launch.metadataOptions = options
        records[id] = record
        try await save(record)
        logger.info("metadata options changed", metadata: Self.metadata([
            "euca.instance": "\(id)", "httpTokens": "\(options.httpTokens)", "httpEndpoint": "\(options.httpEndpoint)",
        ]))
    }

    /// The running instance at `address` on the node's network, for the metadata service: the
    /// neighbour table names the MAC address there, and the MAC address names the instance.
    /// Matches are kept for five seconds.
    public func instance(at address: String) async -> InstanceLaunch? {
        if let network, let id = await network.instance(atAlias: address) {
            guard let record = records[id], !record.stopped else { return nil }
            // Its public address is the one the cloud's policy names now (an elastic IP moves).
            var launch = record.launch
            launch.publicIp = publicAddresses[id.rawValue] ?? launch.publicIp
            return launch
        }
        let now = clock.now()
        if let cached = addressCache[address], now.timeIntervalSince(cached.at) < 5, let record = records[cached.id], !record.stopped {
            return record.launch
        }
        addressCache[address] = nil
        guard let mac = neighbours().mac(at: address, device: settings.bridge) else { return nil }
        guard let record = records.values.first(where: { $0.launch.macAddress.lowercased() == mac && !$0.stopped }) else { return nil }
        if addressCache.count > 10_000 { addressCache.removeAll() }
        addressCache[address] = (record.launch.instanceId, now)
        return record.launch
    }

    public func getConsoleOutput(_ id: InstanceID) async throws -> ConsoleOutput {
        guard records[id] != nil else { throw EucaError(.notFound, .instance, "node \(node) has no instance \(id)") }
        let path = "\(directory(id))/console.log"
        var output = Data()
        var timestamp = clock.now()
        if let handle = FileHandle(forReadingAtPath: path) {
            defer { try? handle.close() }
            let size = (try? handle.seekToEnd()) ?? 0
            let start = size > UInt64(ConsoleOutput.maxBytes) ? size - UInt64(ConsoleOutput.maxBytes) : 0
            try? handle.seek(toOffset: start)
            output = (try? handle.readToEnd()) ?? Data()
            if let modified = (try? FileManager.default.attributesOfItem(atPath: path))?[.modificationDate] as? Date {
                timestamp = modified
            }
        }
        return ConsoleOutput(instanceId: id, output: output, timestamp: timestamp)
    }
}
