import EucaCloud
import EucaCore
import Foundation

/// Elastic IPs: AllocateAddress, AssociateAddress, DisassociateAddress, ReleaseAddress, DescribeAddresses.
extension EC2Actions {
    static let addressActions: [String: EC2Action] = [
        "AllocateAddress": EC2Action(run: allocateAddress, limits: "BYOIP pools"),
        "AssociateAddress": EC2Action(run: associateAddress),
        "DisassociateAddress": EC2Action(run: disassociateAddress),
        "ReleaseAddress": EC2Action(run: releaseAddress),
        "DescribeAddresses": EC2Action(run: describeAddresses),
    ]

    // MARK: - Elastic IPs

    static func addressReference(_ params: QueryParameters) throws(EucaError) -> AddressReference {
        if let id = params["AllocationId"], !id.isEmpty { return .allocationId(id) }
        if let ip = params["PublicIp"], !ip.isEmpty { return .publicIp(ip) }
        throw EucaError(.missingParameter, .parameter, "The request must contain the parameter PublicIp or AllocationId")
    }

    static func allocateAddress(_ context: ActionContext, _ xml: inout XMLWriter) async throws {
        // Both domains draw on the one pool; a `vpc` address is for instances of the default VPC,
        // which every instance is in.
        let domain = context.params["Domain"].flatMap { $0.isEmpty ? nil : $0 }
        if let domain, domain != "standard" && domain != "vpc" {
            throw EucaError(.invalidParameter, .parameter, "Value (\(domain.prefix(32))) for parameter domain is invalid. Expected 'standard' or 'vpc'.")
        }
        let tags = try context.params.tagSpecifications(allowed: [.elasticIp])[.elasticIp] ?? []
        let address = try await context.cloud.addresses.allocate(
            context.principal, requested: context.params["Address"], domain: domain == "vpc" ? "vpc" : nil, tags: tags)
        xml.leaf("publicIp", address.publicIp)
        xml.leaf("domain", address.domain ?? "standard")
        xml.leaf("allocationId", address.allocationId)
    }

    static func associateAddress(_ context: ActionContext, _ xml: inout XMLWriter) async throws {
        let id = try InstanceID(validating: try context.params.required("InstanceId"))
        let address = try await context.cloud.addresses.associate(
            context.principal, try addressReference(context.params), instance: id,
            allowReassociation: try context.params.boolean("AllowReassociation") ?? true)
        xml.leaf("return", true)
        xml.leaf("associationId", ifPresent: address.associationId)
    }

    static func disassociateAddress(_ context: ActionContext, _ xml: inout XMLWriter) async throws {
        let ip = context.params["PublicIp"].flatMap { $0.isEmpty ? nil : $0 }
        let association = context.params["AssociationId"].flatMap { $0.isEmpty ? nil : $0 }
        try await context.cloud.addresses.disassociate(context.principal, publicIp: ip, associationId: association)
        xml.leaf("return", true)
    }

    static func releaseAddress(_ context: ActionContext, _ xml: inout XMLWriter) async throws {
        try await context.cloud.addresses.release(context.principal, try addressReference(context.params))
        xml.leaf("return", true)
    }

    static let addressFilters = FilterSet<AddressRecord>("DescribeAddresses", fields: [
        "public-ip": { [$0.publicIp] },
        "allocation-id": { [$0.allocationId] },
        "association-id": { $0.associationId.map { [$0] } ?? [] },
        "instance-id": { $0.instanceId.map { [$0.rawValue] } ?? [] },
        "domain": { [$0.domain ?? "standard"] },
    ], id: { $0.allocationId })

    static func describeAddresses(_ context: ActionContext, _ xml: inout XMLWriter) async throws {
        let ips = context.params.list("PublicIp")
        let ids = context.params.list("AllocationId")
        let all = context.cloud.addresses.list(for: context.principal)
        for ip in ips where !all.contains(where: { $0.publicIp == ip }) {
            throw EucaError(.notFound, .publicAddress, "Address '\(ip)' not found.")
        }
        for id in ids where !all.contains(where: { $0.allocationId == id }) {
            throw EucaError(.notFound, .address, "The allocation ID '\(id)' does not exist")
        }
        let tags = context.cloud.tags.all()
        let filter = try addressFilters.compile(try context.params.filters(), tags: tags)
        let shown = all.filter {
            (ips.isEmpty || ips.contains($0.publicIp)) && (ids.isEmpty || ids.contains($0.allocationId)) && filter.matches($0)
        }
        xml.set("addressesSet", shown) { xml, address in
            xml.leaf("publicIp", address.publicIp)
            xml.leaf("allocationId", address.allocationId)
            xml.leaf("domain", address.domain ?? "standard")
            xml.leaf("instanceId", address.instanceId?.rawValue ?? "")
            xml.leaf("associationId", ifPresent: address.associationId)
            xml.tagSet(tags[address.allocationId]?.tags ?? [:])
        }
    }
}
