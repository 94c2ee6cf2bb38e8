public import EucaCore
import EucaHypervisor
public import EucaDaemon
public import EucaHypervisorLibvirt
public import EucaNode
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
        let node = try await NodeController.open(hypervisor: hypervisor, settings: settings, images: images, store: store, logger: logger)
        await node.restoreImagePins()
        var services: [any Service] = []
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

}
