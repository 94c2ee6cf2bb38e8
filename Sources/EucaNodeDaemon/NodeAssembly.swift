public import EucaCore
import EucaHypervisor
public import EucaDaemon
public import EucaHypervisorLibvirt
public import EucaNode
public import EucaNet
import Foundation
public import Logging
public import ServiceLifecycle

/// A node controller's parts, made from its settings: the libvirt connection (with the KVM
/// probe), the image cache fed by `imageSource`, the node controller and, where this host has
/// the metadata address, the instance metadata service. `euca-nc` serves it over mutual TLS;
/// `euca-cloud` hands it to its in-process cluster.
public struct NodeAssembly: Sendable {
    public let node: NodeController
    /// What runs beside the node controller: the metadata service, when there is one.
    public let services: [any Service]

    /// - Parameter store: where the node keeps its records (`STATE_DIR/node-state` in the daemons).
    public static func make(
        settings: NodeSettings, store: any StateStore, imageSource: (any ImageSource)?, limits: HTTPLimits, logger: Logger
    ) async throws -> NodeAssembly {
        let hypervisor = try await NodeRuntime.hypervisor(settings, logger: logger)
        let images = try imageSource.map { try NodeRuntime.imageCache(settings, source: $0, logger: logger) }
        let network = await NodeRuntime.vpcNetwork(settings, logger: logger)
        let bridged = NodeRuntime.bridgedNetwork(settings, logger: logger)
        let node = try await NodeController.open(
            hypervisor: hypervisor, settings: settings, images: images, store: store, network: network?.network, bridged: bridged, logger: logger)
        await node.restoreImagePins()
        await node.restoreNetwork()
        var services: [any Service] = []
        if let network { services.append(VPCNetworkKeeper(network: network.network, madeMetadataAddress: network.madeMetadataAddress, logger: logger)) }
        if let bridged { services.append(BridgedNetworkKeeper(network: bridged)) }
        if let metadata = try NodeRuntime.metadataServer(settings, node: node, limits: limits, logger: logger) { services.append(metadata) }
        return NodeAssembly(node: node, services: services)
    }
}

extension NodeRuntime {
    /// The libvirt connection; on a hypervisor other than the test driver, guests run with the
    /// acceleration `HYPERVISOR_ACCEL` names or the probe finds.
    public static func hypervisor(_ settings: NodeSettings, logger: Logger) async throws -> LibvirtHypervisor {
        var domainType: DomainType?
        if !settings.libvirtURI.hasPrefix("test:") {
            domainType = DomainType(rawValue: await Acceleration.choose(settings.acceleration, logger: logger).rawValue)
        }
        return try LibvirtHypervisor(uri: settings.libvirtURI, domainType: domainType, logger: Logger(label: "euca.hypervisor"))
    }

    /// The node's VPC network, where instances boot for real and the host allows it (root, and
    /// the programs it runs); nil, with a log line saying why, where not. When no interface holds
    /// the metadata address, a device of the network's own is given it.
    public static func vpcNetwork(_ settings: NodeSettings, logger: Logger) async -> (network: VPCNodeNetwork, madeMetadataAddress: Bool)? {
        guard !settings.libvirtURI.hasPrefix("test:") else { return nil }
        guard geteuid() == 0 else {
            logger.notice("no VPC network on this node: it needs root; instances on a VPC cannot launch here")
            return nil
        }
        let missing = VPCNodeNetwork.missingTools()
        guard missing.isEmpty else {
            logger.notice("no VPC network on this node: missing \(missing.joined(separator: ", ")); instances on a VPC cannot launch here")
            return nil
        }
        let endpoint = settings.metadataAddress.map { MetadataEndpoint(address: $0, port: settings.metadataPort) }
        var made = false
        if let endpoint {
            do {
                made = try await VPCNodeNetwork.provideMetadataAddress(endpoint, isLocal: MetadataServer.isLocalAddress(endpoint.address))
            } catch {
                logger.error("the metadata address could not be given to the host", metadata: ["error": "\(error)"])
            }
        }
        var underlay: String?
        if let device = settings.privateInterface {
            underlay = try? await VPCNodeNetwork.address(of: device)
            if underlay == nil {
                logger.error("VNET_PRIVINTERFACE \(device) has no IPv4 address: this node's VPCs do not reach other nodes")
            }
        }
        // MANAGED mode's segments: VLANs on the private interface where the kernel has 802.1Q,
        // VXLAN VNIs from its address where it has not. Every node of a cloud must choose alike.
        var vlanParent: String?
        if let device = settings.privateInterface {
            if await VPCNodeNetwork.hasVLANs() {
                vlanParent = device
                logger.info("MANAGED mode's segments are VLANs on \(device): the kernel has 802.1Q")
            } else {
                logger.info("MANAGED mode's segments are VXLAN VNIs from \(device)'s address: the kernel has no 802.1Q")
            }
        }
        let network = VPCNodeNetwork(settings: VPCNodeNetwork.Settings(
            directory: settings.vpcPath, publicDevice: settings.publicInterface, metadata: endpoint, underlay: underlay, dns: settings.dns,
            vlanParent: vlanParent))
        return (network, made)
    }

}

extension NodeRuntime {
    /// The security groups of the instances on `VNET_BRIDGE`, where the node has a bridge and can
    /// filter it (root, nft, a hypervisor that boots guests); nil, with a log line saying why, where not.
    static func bridgedNetwork(_ settings: NodeSettings, logger: Logger) -> BridgedNodeNetwork? {
        guard let bridge = settings.bridge, !settings.libvirtURI.hasPrefix("test:") else { return nil }
        guard geteuid() == 0, VPCNodeNetwork.missingTools().contains("nft") == false else {
            logger.notice("security groups are not enforced on \(bridge): that needs root and nft")
            return nil
        }
        return BridgedNodeNetwork(bridge: bridge)
    }
}

/// Removes the bridge's filter tables when the node stops with no bridged instance running;
/// where some run, their filters stay with them, and the next start takes them over.
struct BridgedNetworkKeeper: Service {
    let network: BridgedNodeNetwork

    func run() async throws {
        try? await gracefulShutdown()
        if await network.plan.ports.isEmpty { await network.stop() }
    }
}

/// Leaves the host as the node's VPC network found it when the node stops: the metadata
/// address's device goes with the last VPC. VPCs whose instances still run stay, with their
/// instances (their taps live in the VPCs' namespaces); the next start takes them over.
struct VPCNetworkKeeper: Service {
    let network: VPCNodeNetwork
    let madeMetadataAddress: Bool
    let logger: Logger

    func run() async throws {
        try? await gracefulShutdown()
        let left = await network.vnis
        if left.isEmpty {
            if madeMetadataAddress { await VPCNodeNetwork.removeMetadataAddress() }
        } else {
            logger.notice("VPC networks stay for the instances that still run", metadata: ["vnis": "\(left.map(String.init).joined(separator: ","))"])
        }
    }
}
