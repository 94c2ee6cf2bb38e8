public import EucaCore
public import EucaSecurity
import Foundation

/// How a request names an elastic IP.
public enum AddressReference: Sendable, Hashable {
    case publicIp(String)
    case allocationId(String)
}

/// Elastic IPs: allocated from the cloud's pool to an account, associated with one of its
/// instances, released back.
public struct AddressService: CloudService {
    public let context: CloudContext
    /// The addresses elastic IPs (and instances' own public addresses) come from.
    let publicIPs: [String]
    /// The pool addresses being given out, shared with launches.
    let vpcs: VPCService

    init(context: CloudContext, publicIPs: [String], vpcs: VPCService) {
        self.context = context
        self.publicIPs = publicIPs
        self.vpcs = vpcs
    }

    /// The number of addresses in the pool.
    public var poolSize: Int { publicIPs.count }

    public func list(for principal: Principal) -> [AddressRecord] {
        state.read { tables in tables.addresses.values.filter { $0.accountId == principal.accountId } }
            .sorted { $0.allocationId < $1.allocationId }
    }

    static func newID(_ prefix: String) -> String {
        var rng = SystemRandomNumberGenerator()
        let digits = Array("0123456789abcdef")
        return prefix + "-" + String((0..<17).map { _ in digits[Int(rng.next() % 16)] })
    }

    /// Allocates the first free pool address (or `requested`, if it is in the pool and free).
    public func allocate(_ principal: Principal, requested: String? = nil, domain: String? = nil, tags: [Tag] = []) async throws -> AddressRecord {
        try TagService.checkTags(tags)
        let pool = publicIPs
        guard !pool.isEmpty else {
            throw EucaError(.limitExceeded, .address, "This cloud has no public addresses to allocate (VNET_PUBLICIPS is empty).")
        }
        if let requested, !pool.contains(requested) {
            throw EucaError(.invalidParameter, .address, "The address \(requested) is not in this cloud's pool.")
        }
        let account = principal.accountId
        let allocationId = Self.newID("eipalloc")
        // Held while it is committed: neither another allocation nor a launch takes it meanwhile.
        guard let address = vpcs.reservePublicAddresses(1, pool: requested.map { [$0] } ?? pool).first else {
            throw EucaError(.limitExceeded, .address, "The maximum number of addresses has been reached: every address in the pool is in use.")
        }
        defer { vpcs.releasePublic([address]) }
        let record: AddressRecord = try await commit { txn in
            guard try txn.get(address, from: CloudSchema.addresses) == nil else {
                throw EucaError(.limitExceeded, .address, "The maximum number of addresses has been reached: every address in the pool is in use.")
            }
            let record = AddressRecord(
                publicIp: address, allocationId: allocationId, accountId: account, instanceId: nil, associationId: nil, allocatedAt: now(),
                domain: domain)
            try txn.put(record, at: address, in: CloudSchema.addresses)
            try TagService.add(ResourceEntry(id: allocationId, type: .elasticIp, accountId: account), tags: tags, in: txn)
            return record
        }
        logger.info("address allocated", metadata: ["euca.account": "\(account)", "euca.address": "\(record.publicIp)"])
        return record
    }

    /// Refuses a reference that is not an address or an allocation id in form, before the store
    /// is asked.
    static func checkShape(_ reference: AddressReference) throws(EucaError) {
        switch reference {
        case .publicIp(let ip):
            guard EC2IDShape.isIPv4(ip) else {
                throw EucaError(.invalidParameter, .address, "Invalid value '\(ip.prefix(64))' for PublicIp: not an IPv4 address.")
            }
        case .allocationId(let id):
            guard EC2IDShape.matches(id, prefix: "eipalloc") else {
                throw EucaError(.malformedID, .address, "Invalid id: \"\(id.prefix(64))\" (expecting \"eipalloc-...\")")
            }
        }
    }

    private static func find(_ reference: AddressReference, account: AccountID, in txn: any StoreReader) throws -> AddressRecord {
        try checkShape(reference)
        switch reference {
        case .publicIp(let ip):
            guard let record = try txn.get(ip, from: CloudSchema.addresses), record.accountId == account else {
                throw EucaError(.notFound, .publicAddress, "Address '\(ip)' not found.")
            }
            return record
        case .allocationId(let id):
            guard let record = try txn.all(CloudSchema.addresses).first(where: { $0.value.allocationId == id })?.value,
                record.accountId == account
            else {
                throw EucaError(.notFound, .address, "The allocation ID '\(id)' does not exist")
            }
            return record
        }
    }

    /// Associates an address with an instance, replacing any address the instance had. An address
    /// on another instance moves, unless `allowReassociation` is false (EC2's
    /// `AllowReassociation=false`: fail rather than move it).
    public func associate(
        _ principal: Principal, _ reference: AddressReference, instance id: InstanceID, allowReassociation: Bool = true
    ) async throws -> AddressRecord {
        let account = principal.accountId
        let associationId = Self.newID("eipassoc")
        let record: AddressRecord = try await commit { txn in
            var address = try Self.find(reference, account: account, in: txn)
            guard var instance = try txn.get(id.rawValue, from: CloudSchema.instances), instance.accountId == account else {
                throw EucaError(.notFound, .instance, "The instance ID '\(id)' does not exist")
            }
            guard instance.state == .pending || instance.state == .running || instance.state == .stopped || instance.state == .stopping else {
                throw EucaError(.incorrectState, .instance, "The instance '\(id)' is not in a state in which an address can be associated.")
            }
            if !allowReassociation, let other = address.instanceId, other != id {
                throw EucaError(
                    .duplicate, .address,
                    "resource \(address.allocationId) is already associated with associate-id \(address.associationId ?? "")")
            }
            var changedInstances: [InstanceRecord] = []
            var changedAddresses: [AddressRecord] = []
            // The address leaves the instance it was on.
            if let previous = address.instanceId, previous != id, var other = try txn.get(previous.rawValue, from: CloudSchema.instances) {
                other.publicIp = nil
                other.autoPublicIp = nil
                try txn.put(other, at: previous.rawValue, in: CloudSchema.instances)
                changedInstances.append(other)
            }
            // The instance gives up the address it had.
            for (key, var other) in try txn.all(CloudSchema.addresses) where other.instanceId == id && key != address.publicIp {
                other.instanceId = nil
                other.associationId = nil
                try txn.put(other, at: key, in: CloudSchema.addresses)
                changedAddresses.append(other)
            }
            address.instanceId = id
            address.associationId = associationId
            // An elastic IP takes the place of the instance's own public address, which goes back
            // to the pool, as on EC2.
            instance.publicIp = address.publicIp
            instance.autoPublicIp = nil
            try txn.put(address, at: address.publicIp, in: CloudSchema.addresses)
            try txn.put(instance, at: id.rawValue, in: CloudSchema.instances)
            changedAddresses.append(address)
            changedInstances.append(instance)
            return address
        }
        logger.info("address associated", metadata: ["euca.address": "\(record.publicIp)", "euca.instance": "\(id)"])
        return record
    }

    /// Disassociates an address (by public IP or association id) from its instance.
    public func disassociate(_ principal: Principal, publicIp: String?, associationId: String?) async throws {
        let account = principal.accountId
        if let publicIp { try Self.checkShape(.publicIp(publicIp)) }
        if let associationId, !EC2IDShape.matches(associationId, prefix: "eipassoc") {
            throw EucaError(.invalidParameter, .address, "Invalid value '\(associationId.prefix(64))' for AssociationId (expecting \"eipassoc-...\").")
        }
        try await commit { txn in
            var address: AddressRecord
            if let publicIp {
                address = try Self.find(.publicIp(publicIp), account: account, in: txn)
            } else if let associationId {
                guard let found = try txn.all(CloudSchema.addresses).first(where: { $0.value.associationId == associationId })?.value,
                    found.accountId == account
                else {
                    throw EucaError(.notFound, .association, "The association ID '\(associationId)' does not exist")
                }
                address = found
            } else {
                throw EucaError(.missingParameter, .parameter, "The request must contain the parameter PublicIp or AssociationId")
            }
            try Self.detach(&address, in: txn)
        }
    }

    /// Clears an address's association and its instance's public IP, in a transaction.
    static func detach(_ address: inout AddressRecord, in txn: any StoreWriter) throws {
        if let id = address.instanceId, var instance = try txn.get(id.rawValue, from: CloudSchema.instances), instance.publicIp == address.publicIp {
            instance.publicIp = nil
            try txn.put(instance, at: id.rawValue, in: CloudSchema.instances)
        }
        address.instanceId = nil
        address.associationId = nil
        try txn.put(address, at: address.publicIp, in: CloudSchema.addresses)
    }

    /// Releases an address back to the pool, disassociating it first.
    public func release(_ principal: Principal, _ reference: AddressReference) async throws {
        let account = principal.accountId
        let released: String = try await commit { txn in
            var address = try Self.find(reference, account: account, in: txn)
            try Self.detach(&address, in: txn)
            try txn.delete(address.publicIp, from: CloudSchema.addresses)
            try TagService.remove(resource: address.allocationId, in: txn)
            return address.publicIp
        }
        logger.info("address released", metadata: ["euca.account": "\(account)", "euca.address": "\(released)"])
    }

    /// In a transaction that terminates `instance`: the addresses associated with it are
    /// disassociated (they stay allocated to the account, as in EC2).
    static func releaseAssociations(of instance: InstanceID, in txn: any StoreWriter) throws {
        for (key, var address) in try txn.all(CloudSchema.addresses) where address.instanceId == instance {
            address.instanceId = nil
            address.associationId = nil
            try txn.put(address, at: key, in: CloudSchema.addresses)
        }
    }
}
