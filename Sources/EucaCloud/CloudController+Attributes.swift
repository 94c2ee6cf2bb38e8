public import EucaCore
public import EucaSecurity
public import Foundation

/// A change ModifyInstanceAttribute asks for.
public enum InstanceAttributeChange: Sendable, Hashable {
    case instanceType(String)
    case userData(Data)
    case terminationProtection(Bool)
    case shutdownBehavior(ShutdownBehavior)
    case groups([String])
}

/// An instance's health as DescribeInstanceStatus reports it.
public enum InstanceHealth: String, Sendable {
    case ok, impaired, initializing
    case notApplicable = "not-applicable"
}

extension CloudController {
    /// Changes one attribute of an instance, with EC2's rules on the state it must be in.
    /// Changes how an instance's metadata service answers (ModifyInstanceMetadataOptions): the
    /// change is durable before the reply, then handed to the instance's node; nil leaves a field
    /// as it is. Returns the options now in force.
    public func modifyInstanceMetadataOptions(
        _ principal: Principal, _ id: InstanceID, httpTokens: String?, httpEndpoint: String?, hopLimit: Int?
    ) async throws -> MetadataOptions {
        _ = try instances([id], for: principal)
        try Self.validate(MetadataOptions(
            httpTokens: httpTokens ?? "optional", httpEndpoint: httpEndpoint ?? "enabled", httpPutResponseHopLimit: hopLimit ?? 1))
        let options = try await commit { txn -> MetadataOptions in
            guard var record = try txn.get(id.rawValue, from: CloudSchema.instances), record.state != .terminated else {
                throw EucaError(.notFound, .instance, "The instance ID '\(id)' does not exist")
            }
            var options = record.metadataOptions ?? MetadataOptions()
            if let httpTokens { options.httpTokens = httpTokens }
            if let httpEndpoint { options.httpEndpoint = httpEndpoint }
            if let hopLimit { options.httpPutResponseHopLimit = hopLimit }
            record.metadataOptions = options
            try txn.put(record, at: id.rawValue, in: CloudSchema.instances)
            return options
        }
        logger.info("metadata options changed", metadata: [
            "euca.instance": "\(id)", "httpTokens": "\(options.httpTokens)", "httpEndpoint": "\(options.httpEndpoint)",
        ])
        enqueue(.metadataOptions([id]))
        return options
    }

    /// Checks metadata options as EC2 does.
    public static func validate(_ options: MetadataOptions) throws {
        guard ["optional", "required"].contains(options.httpTokens) else {
            throw EucaError(.invalidParameter, .parameter, "Value (\(options.httpTokens)) for parameter HttpTokens is invalid. Expected optional or required.")
        }
        guard ["enabled", "disabled"].contains(options.httpEndpoint) else {
            throw EucaError(.invalidParameter, .parameter, "Value (\(options.httpEndpoint)) for parameter HttpEndpoint is invalid. Expected enabled or disabled.")
        }
        guard (1...64).contains(options.httpPutResponseHopLimit) else {
            throw EucaError(
                .invalidParameter, .parameter,
                "Value (\(options.httpPutResponseHopLimit)) for parameter HttpPutResponseHopLimit is invalid. Expected 1 to 64.")
        }
    }

    public func modifyInstance(_ principal: Principal, _ id: InstanceID, _ change: InstanceAttributeChange) async throws {
        guard let current = try instances([id], for: principal).first else { return }
        var groups: [GroupIdentifier] = []
        if case .groups(let ids) = change {
            guard !ids.isEmpty else { throw EucaError(.missingParameter, .parameter, "The request must contain the parameter GroupId") }
            groups = try await securityGroups.resolveLaunchGroups(names: [], ids: ids, account: current.accountId)
        }
        var newType: VMType?
        if case .instanceType(let name) = change {
            guard let type = settings.vmTypes[name] else {
                throw EucaError(.invalidParameter, .instanceType, "Invalid value '\(name)' for InstanceType.")
            }
            newType = type
        }
        if case .userData(let data) = change, data.count > 16384 {
            throw EucaError(.invalidParameter, .parameter, "User data is limited to 16384 bytes; this request has \(data.count).")
        }
        try await commit { [groups, newType] txn in
            guard var record = try txn.get(id.rawValue, from: CloudSchema.instances), record.state != .terminated else {
                throw EucaError(.notFound, .instance, "The instance ID '\(id)' does not exist")
            }
            func requireStopped(_ attribute: String) throws {
                guard record.state == .stopped else {
                    throw EucaError(.incorrectState, .instance, "The instance '\(id)' is not in the 'stopped' state, which changing \(attribute) needs.")
                }
            }
            switch change {
            case .instanceType:
                try requireStopped("instanceType")
                record.vmType = newType ?? record.vmType
            case .userData(let data):
                try requireStopped("userData")
                record.userData = data.isEmpty ? nil : data
            case .terminationProtection(let on):
                record.terminationProtected = on
            case .shutdownBehavior(let behavior):
                record.shutdownBehavior = behavior
            case .groups:
                record.groups = groups
            }
            try txn.put(record, at: id.rawValue, in: CloudSchema.instances)
        }
        logger.info("instance attribute changed", metadata: ["euca.instance": "\(id)", "change": "\(change)"])
        if case .groups = change { await securityGroups.publishNetworkPlan() }
    }

    /// The health of an instance: impaired when its node, or its zone's cluster, does not answer.
    public func health(of instance: InstanceRecord) -> InstanceHealth {
        switch instance.state {
        case .running:
            let unreachable = work.withLock { work in
                work.unreachableZones.contains(instance.zone)
                    || instance.node.map { work.unreachableNodes[instance.zone]?.contains($0) ?? false } ?? false
            }
            return unreachable ? .impaired : .ok
        case .pending: return .initializing
        default: return .notApplicable
        }
    }

    /// How many instances of the smallest VM type the cloud can hold in all, for
    /// DescribeAccountAttributes' `max-instances`.
    public func maximumInstances() async -> Int {
        guard let smallest = settings.vmTypes.types.first else { return 0 }
        var total = 0
        for zone in zoneOrder {
            if let resources = try? await cluster(zone)?.describeResources() { total += resources.maximum(smallest) }
        }
        return total
    }
}
