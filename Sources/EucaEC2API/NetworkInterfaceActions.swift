import EucaCloud
import EucaCore

/// An instance's one network interface (device 0) in its zone's default subnet: its private
/// address, its public one where it has one, its groups. It is made and deleted with the
/// instance, and named from the instance's own id (``InstanceFacts/interfaceId(_:)``).
struct InterfaceView: Sendable {
    var instance: InstanceRecord
    /// The elastic address on the instance, if its public address is one.
    var address: AddressRecord?
    /// The zone's id, shown when the interface is described on its own.
    var zoneId: String?
    let subnetId: String
    let vpcId: String
    /// The instance's launch time as EC2 writes it: the interface's attach time.
    let launched: String

    init(_ instance: InstanceRecord, address: AddressRecord? = nil, zoneId: String? = nil) {
        self.instance = instance
        self.address = address
        self.zoneId = zoneId
        subnetId = VPCService.subnetId(of: instance.accountId, zone: instance.zone)
        vpcId = VPCService.vpcId(of: instance.accountId)
        launched = EC2Time.format(instance.launchTime)
        id = InstanceFacts.interfaceId(instance)
    }

    let id: String
}

extension EC2Actions {
    static let networkInterfaceActions: [String: EC2Action] = [
        "DescribeNetworkInterfaces": EC2Action(
            run: describeNetworkInterfaces, limits: "each instance's primary interface only: interfaces are not created, attached or tagged apart from their instance"),
    ]

    /// One interface, inside an instance's `networkInterfaceSet` or, `standalone`, as
    /// DescribeNetworkInterfaces shows it (with its zone, its instance and its tags).
    static func writeInterface(_ xml: inout XMLWriter, _ view: InterfaceView, modern: Bool, standalone: Bool = false) {
        let instance = view.instance
        func association(_ xml: inout XMLWriter) {
            guard let publicIp = instance.publicIp else { return }
            xml.element("association") { xml in
                xml.leaf("publicIp", publicIp)
                xml.leaf("publicDnsName", "")
                xml.leaf("ipOwnerId", view.address.map { $0.accountId.rawValue } ?? "amazon")
                xml.leaf("allocationId", ifPresent: view.address?.allocationId)
                xml.leaf("associationId", ifPresent: view.address?.associationId)
            }
        }
        xml.open("item")
        xml.leaf("networkInterfaceId", view.id)
        xml.leaf("subnetId", view.subnetId)
        xml.leaf("vpcId", view.vpcId)
        if standalone {
            xml.leaf("availabilityZone", instance.zone)
            xml.leaf("availabilityZoneId", ifPresent: view.zoneId)
        }
        xml.appendRaw("<description></description>")
        xml.leaf("ownerId", instance.accountId.rawValue)
        if standalone { xml.appendRaw("<requesterManaged>false</requesterManaged>") }
        xml.appendRaw("<status>in-use</status>")
        xml.leaf("macAddress", instance.macAddress)
        xml.leaf("privateIpAddress", ifPresent: instance.privateIp)
        xml.appendRaw("<sourceDestCheck>true</sourceDestCheck>")
        writeGroupSet(&xml, instance.groups, modern: modern)
        xml.appendRaw("<attachment>")
        xml.leaf("attachmentId", InstanceFacts.attachmentId(instance))
        if standalone {
            xml.leaf("instanceId", instance.id.rawValue)
            xml.leaf("instanceOwnerId", instance.accountId.rawValue)
        }
        xml.appendRaw("<deviceIndex>0</deviceIndex><networkCardIndex>0</networkCardIndex><status>attached</status>")
        xml.leaf("attachTime", view.launched)
        xml.appendRaw("<deleteOnTermination>true</deleteOnTermination></attachment>")
        association(&xml)
        if standalone { xml.tagSet([:]) }
        xml.open("privateIpAddressesSet")
        if let privateIp = instance.privateIp {
            xml.element("item") { xml in
                xml.leaf("privateIpAddress", privateIp)
                xml.leaf("primary", true)
                association(&xml)
            }
        }
        xml.appendRaw("</privateIpAddressesSet><ipv6AddressesSet></ipv6AddressesSet><interfaceType>interface</interfaceType></item>")
    }

    /// DescribeNetworkInterfaces' filters: what ``writeInterface(_:_:modern:standalone:)`` shows.
    static let networkInterfaceFilters: FilterSet<InterfaceView> = {
        FilterSet("DescribeNetworkInterfaces", fields: [
            "network-interface-id": { [$0.id] },
            "subnet-id": { [$0.subnetId] },
            "vpc-id": { [$0.vpcId] },
            "availability-zone": { [$0.instance.zone] },
            "availability-zone-id": { present($0.zoneId) },
            "description": { _ in [""] },
            "owner-id": { [$0.instance.accountId.rawValue] },
            "requester-managed": { _ in ["false"] },
            "status": { _ in ["in-use"] },
            "mac-address": { [$0.instance.macAddress] },
            "private-ip-address": { present($0.instance.privateIp) },
            "addresses.private-ip-address": { present($0.instance.privateIp) },
            "addresses.primary": { _ in ["true"] },
            "source-dest-check": { _ in ["true"] },
            "group-id": { $0.instance.groups.map(\.id.rawValue) },
            "interface-type": { _ in ["interface"] },
            "attachment.attachment-id": { [InstanceFacts.attachmentId($0.instance)] },
            "attachment.instance-id": { [$0.instance.id.rawValue] },
            "attachment.instance-owner-id": { [$0.instance.accountId.rawValue] },
            "attachment.device-index": { _ in ["0"] },
            "attachment.status": { _ in ["attached"] },
            "attachment.attach-time": { [EC2Time.format($0.instance.launchTime)] },
            "attachment.delete-on-termination": { _ in ["true"] },
            "association.public-ip": { present($0.instance.publicIp) },
            "addresses.association.public-ip": { present($0.instance.publicIp) },
            "association.ip-owner-id": { $0.instance.publicIp == nil ? [] : [$0.address?.accountId.rawValue ?? "amazon"] },
            "addresses.association.owner-id": { $0.instance.publicIp == nil ? [] : [$0.address?.accountId.rawValue ?? "amazon"] },
            "association.allocation-id": { present($0.address?.allocationId) },
            "association.association-id": { present($0.address?.associationId) },
        ], id: \.id)
    }()

    static func describeNetworkInterfaces(_ context: ActionContext, _ xml: inout XMLWriter) async throws {
        let principal = context.principal
        let zoneIds = Dictionary(context.cloud.describeAvailabilityZones().map { ($0.name, $0.id) }) { first, _ in first }
        let addresses = Dictionary(
            context.cloud.addresses.list(for: principal).compactMap { address in address.instanceId.map { ($0, address) } }
        ) { first, _ in first }
        let views = context.cloud.instances.reservations(for: principal).flatMap(\.1)
            .filter { $0.state != .terminated }
            .map { InterfaceView($0, address: addresses[$0.id], zoneId: zoneIds[$0.zone]) }
        let page = try requested(views, context, idParameter: "NetworkInterfaceId", id: \.id, networkInterfaceFilters) {
            EC2Error("InvalidNetworkInterfaceID.NotFound", "The networkInterface ID '\($0.prefix(64))' does not exist")
        }
        xml.open("networkInterfaceSet")
        for view in page.items { writeInterface(&xml, view, modern: true, standalone: true) }
        xml.close("networkInterfaceSet")
        xml.leaf("nextToken", ifPresent: page.nextToken)
    }
}
