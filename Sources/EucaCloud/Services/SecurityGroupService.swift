import EucaCore
public import EucaNet
public import EucaSecurity
import Foundation

/// How a request names a security group.
public enum GroupReference: Sendable, Hashable {
    case id(String)
    case name(String)
}

/// The direction of a rule.
public enum RuleDirection: Sendable, Hashable {
    case ingress, egress
}

/// Security groups and their rules, per account, with EC2's limits; every change is handed to
/// the network mode, whose applier makes the hosts enforce it.
public struct SecurityGroupService: CloudService {
    public let context: CloudContext
    let network: any NetworkMode
    let networkApplier: (any NetworkApplier)?

    init(context: CloudContext, network: any NetworkMode, networkApplier: (any NetworkApplier)?) {
        self.context = context
        self.network = network
        self.networkApplier = networkApplier
    }

    /// The most rules one group may hold, in each direction.
    public static let maxRulesPerGroup = 100
    /// The longest rule description, as EC2 allows.
    public static let maxRuleDescription = 255

    /// The account's groups, creating its `default` group on first use as EC2 does.
    public func list(for principal: Principal) async throws -> [SecurityGroupRecord] {
        _ = try await defaultGroup(for: principal.accountId)
        return state.read { tables in (tables.groupsByAccount[principal.accountId] ?? []).compactMap { tables.groups[$0] } }
            .sorted { $0.id < $1.id }
    }

    /// The account's `default` group, created the first time it is needed: all traffic from its
    /// own members and all traffic out.
    func defaultGroup(for account: AccountID) async throws -> SecurityGroupRecord {
        let key = CloudSchema.groupNameKey(account, "default")
        if let existing = state.read({ tables in tables.groupNames[key].flatMap { tables.groups[$0] } }) { return existing }
        let id = SecurityGroupID.generate()
        let group = SecurityGroupRecord(
            id: id, accountId: account, name: "default", description: "default group",
            ingress: [SecurityRule(ipProtocol: "-1", fromPort: nil, toPort: nil, peer: .group(accountId: account, groupId: id, groupName: "default"))],
            egress: [SecurityRule(ipProtocol: "-1", fromPort: nil, toPort: nil, peer: .cidr("0.0.0.0/0"))],
            createdAt: now())
        let created = try await commit { txn in
            if let existing = try txn.get(key, from: CloudSchema.securityGroupNames),
                let record = try txn.get(existing.rawValue, from: CloudSchema.securityGroups)
            {
                return record
            }
            try txn.put(group, at: id.rawValue, in: CloudSchema.securityGroups)
            try txn.put(id, at: key, in: CloudSchema.securityGroupNames)
            try TagService.add(ResourceEntry(id: id.rawValue, type: .securityGroup, accountId: account), tags: [], in: txn)
            return group
        }
        return created
    }

    /// The caller's group named by `reference`.
    public func group(_ reference: GroupReference, for principal: Principal) async throws -> SecurityGroupRecord {
        _ = try await defaultGroup(for: principal.accountId)
        return try Self.lookup(reference, account: principal.accountId, in: state.read { ($0.groups, $0.groupNames) })
    }

    static func lookup(
        _ reference: GroupReference, account: AccountID,
        in tables: (groups: [SecurityGroupID: SecurityGroupRecord], names: [String: SecurityGroupID])
    ) throws(EucaError) -> SecurityGroupRecord {
        switch reference {
        case .id(let text):
            guard let id = SecurityGroupID(parsing: text) else {
                throw EucaError(.malformedID, .securityGroup, "Invalid id: \"\(text)\" (expecting \"sg-...\")")
            }
            guard let group = tables.groups[id], group.accountId == account else {
                throw EucaError(.notFound, .securityGroup, "The security group '\(text)' does not exist")
            }
            return group
        case .name(let name):
            guard let id = tables.names[CloudSchema.groupNameKey(account, name)], let group = tables.groups[id] else {
                throw EucaError(.notFound, .securityGroup, "The security group '\(name)' does not exist")
            }
            return group
        }
    }

    /// The account a rule's `UserId` names: 12 digits.
    static func accountID(userId: String) throws(EucaError) -> AccountID {
        guard let id = AccountID(parsing: userId) else {
            throw EucaError(.malformedID, .account, "Invalid user id: \"\(userId.prefix(64))\" (expecting 12 digits)")
        }
        return id
    }

    /// Creates a group with no ingress rules and all egress allowed.
    public func create(_ principal: Principal, name: String, description: String, tags: [Tag] = []) async throws -> SecurityGroupRecord {
        guard !name.isEmpty, name.utf8.count <= 255, name.unicodeScalars.allSatisfy({ $0.value >= 0x20 && $0.value < 0x7F }) else {
            throw EucaError(.invalidParameter, .securityGroup, "Group names are 1 to 255 printable ASCII characters.")
        }
        guard !name.lowercased().hasPrefix("sg-") else {
            throw EucaError(.invalidParameter, .securityGroup, "Group names may not be in the format sg-*.")
        }
        guard !description.isEmpty, description.count <= 255 else {
            throw EucaError(.invalidParameter, .securityGroup, "Group descriptions are 1 to 255 characters.")
        }
        try TagService.checkTags(tags)
        let account = principal.accountId
        _ = try await defaultGroup(for: account)
        let held = state.read { tables in tables.groupsByAccount[account]?.count ?? 0 }
        guard held < settings.maxSecurityGroupsPerAccount else {
            throw EucaError(
                .limitExceeded, .securityGroup,
                "The maximum number of security groups (\(settings.maxSecurityGroupsPerAccount)) has been reached.")
        }
        let id = SecurityGroupID.generate()
        let group = SecurityGroupRecord(
            id: id, accountId: account, name: name, description: description, ingress: [],
            egress: [SecurityRule(ipProtocol: "-1", fromPort: nil, toPort: nil, peer: .cidr("0.0.0.0/0"))], createdAt: now())
        let key = CloudSchema.groupNameKey(account, name)
        try await commit { txn in
            if try txn.get(key, from: CloudSchema.securityGroupNames) != nil {
                throw EucaError(.duplicate, .securityGroup, "The security group '\(name)' already exists")
            }
            try txn.put(group, at: id.rawValue, in: CloudSchema.securityGroups)
            try txn.put(id, at: key, in: CloudSchema.securityGroupNames)
            try TagService.add(ResourceEntry(id: id.rawValue, type: .securityGroup, accountId: account), tags: tags, in: txn)
        }
        logger.info("security group created", metadata: ["euca.account": "\(account)", "euca.group": "\(id)", "name": "\(name)"])
        await publishNetworkPlan()
        return group
    }

    /// Deletes a group that no instance uses and no other group's rules name.
    public func delete(_ principal: Principal, _ reference: GroupReference) async throws {
        let group = try await group(reference, for: principal)
        guard group.name != "default" else {
            throw EucaError(.operationNotPermitted, .securityGroup, "the specified group: \"\(group.id)\" name: \"default\" cannot be deleted by a user")
        }
        try await commit { txn in
            guard try txn.get(group.id.rawValue, from: CloudSchema.securityGroups) != nil else {
                throw EucaError(.notFound, .securityGroup, "The security group '\(group.id)' does not exist")
            }
            for (_, instance) in try txn.all(CloudSchema.instances)
            where instance.state != .terminated && instance.groups.contains(where: { $0.id == group.id }) {
                throw EucaError(.incorrectState, .securityGroup, "There are active instances using security group '\(group.name)'")
            }
            // Only the owner's own groups hold it: another account's rule that names it (by
            // UserId) goes stale, as a reference across accounts does in EC2, and says nothing
            // of that account to the owner.
            for (_, other) in try txn.all(CloudSchema.securityGroups) where other.id != group.id && other.accountId == group.accountId {
                let referenced = (other.ingress + other.egress).contains { rule in
                    if case .group(_, let id, _) = rule.peer { return id == group.id }
                    return false
                }
                if referenced {
                    throw EucaError(.incorrectState, .securityGroup, "Group \(group.id) is used by groups: \(other.id)")
                }
            }
            let key = CloudSchema.groupNameKey(group.accountId, group.name)
            try txn.delete(group.id.rawValue, from: CloudSchema.securityGroups)
            try txn.delete(key, from: CloudSchema.securityGroupNames)
            try TagService.remove(resource: group.id.rawValue, in: txn)
        }
        logger.info("security group deleted", metadata: ["euca.account": "\(principal.accountId)", "euca.group": "\(group.id)"])
        await publishNetworkPlan()
    }

    /// Resolves requested permissions into single-peer rules, checking syntax and peers.
    func rules(_ permissions: [PermissionRequest], account: AccountID) async throws -> [SecurityRule] {
        var rules: [SecurityRule] = []
        for permission in permissions {
            let descriptions = permission.cidrs.map(\.description) + permission.cidrs6.map(\.description) + permission.groups.map(\.description)
            for case let description? in descriptions where description.count > Self.maxRuleDescription {
                throw EucaError(
                    .invalidParameter, .permission, "Rule descriptions are at most \(Self.maxRuleDescription) characters.")
            }
            let ipProtocol = try RuleSyntax.normalizeProtocol(permission.ipProtocol)
            let (from, to) = try RuleSyntax.ports(ipProtocol, permission.fromPort, permission.toPort)
            for (cidr, description) in permission.cidrs {
                try RuleSyntax.checkCIDR(cidr)
                rules.append(SecurityRule(ipProtocol: ipProtocol, fromPort: from, toPort: to, peer: .cidr(cidr), description: description))
            }
            for (cidr, description) in permission.cidrs6 {
                try RuleSyntax.checkCIDR6(cidr)
                rules.append(SecurityRule(ipProtocol: ipProtocol, fromPort: from, toPort: to, peer: .cidr6(cidr), description: description))
            }
            for pair in permission.groups {
                // Another account's group is named by its owner's id with the group's name (or
                // id); a bare id finds the caller's own groups only, so an id of another
                // account's group answers exactly as one that does not exist.
                let owner = try pair.userId.flatMap { $0.isEmpty ? nil : try Self.accountID(userId: $0) } ?? account
                if owner == account { _ = try await defaultGroup(for: account) }
                let tables = state.read { ($0.groups, $0.groupNames) }
                let peer: SecurityGroupRecord
                if let id = pair.groupId, !id.isEmpty {
                    guard let parsed = SecurityGroupID(parsing: id) else {
                        throw EucaError(.malformedID, .securityGroup, "Invalid id: \"\(id.prefix(64))\" (expecting \"sg-...\")")
                    }
                    guard let group = tables.0[parsed], group.accountId == owner else {
                        throw EucaError(.notFound, .securityGroup, "The security group '\(id)' does not exist")
                    }
                    peer = group
                } else if let name = pair.groupName, !name.isEmpty {
                    peer = try Self.lookup(.name(name), account: owner, in: tables)
                } else {
                    throw EucaError(.missingParameter, .parameter, "A source group needs a GroupId or a GroupName.")
                }
                rules.append(SecurityRule(
                    ipProtocol: ipProtocol, fromPort: from, toPort: to,
                    peer: .group(accountId: peer.accountId, groupId: peer.id, groupName: peer.name), description: pair.description))
            }
            if permission.cidrs.isEmpty && permission.cidrs6.isEmpty && permission.groups.isEmpty {
                throw EucaError(.missingParameter, .parameter, "A permission needs a CIDR range or a source group.")
            }
        }
        return rules
    }

    /// Adds rules to a group; a rule it already has refuses the whole request. Returns the group
    /// and the rules added.
    @discardableResult
    public func authorize(
        _ principal: Principal, _ reference: GroupReference, _ direction: RuleDirection, _ permissions: [PermissionRequest]
    ) async throws -> (group: SecurityGroupRecord, rules: [SecurityRule]) {
        try await changeRules(principal, reference, direction, permissions) { rules, rule in
            guard !rules.contains(where: { $0.identity == rule.identity }) else {
                throw EucaError(
                    .duplicate, .permission,
                    "The specified rule \"peer: \(Self.describe(rule.peer)), \(rule.ipProtocol.uppercased()), from port: \(rule.fromPort.map(String.init) ?? "-"), to port: \(rule.toPort.map(String.init) ?? "-"), ALLOW\" already exists")
            }
            rules.append(rule)
            guard rules.count <= Self.maxRulesPerGroup else {
                throw EucaError(.limitExceeded, .permission, "The maximum number of rules per security group (\(Self.maxRulesPerGroup)) has been reached.")
            }
        }
    }

    /// Removes rules from a group; a rule it does not have refuses the whole request.
    public func revoke(
        _ principal: Principal, _ reference: GroupReference, _ direction: RuleDirection, _ permissions: [PermissionRequest]
    ) async throws {
        _ = try await changeRules(principal, reference, direction, permissions) { rules, rule in
            guard let index = rules.firstIndex(where: { $0.identity == rule.identity }) else {
                throw EucaError(
                    .notFound, .permission,
                    "The specified rule does not exist in this security group (peer: \(Self.describe(rule.peer)), \(rule.ipProtocol)).")
            }
            rules.remove(at: index)
        }
    }

    /// Resolves the permissions and applies `change` for each rule to the group's rules, in one
    /// transaction: if any rule is refused, none changes.
    private func changeRules(
        _ principal: Principal, _ reference: GroupReference, _ direction: RuleDirection, _ permissions: [PermissionRequest],
        _ change: @escaping @Sendable (inout [SecurityRule], SecurityRule) throws -> Void
    ) async throws -> (group: SecurityGroupRecord, rules: [SecurityRule]) {
        let group = try await group(reference, for: principal)
        let rules = try await rules(permissions, account: principal.accountId)
        try await updateRules(of: group.id, direction) { existing in
            var updated = existing
            for rule in rules { try change(&updated, rule) }
            return updated
        }
        return (group, rules)
    }

    /// A rule's peer as EC2's messages name it: its CIDR block or its group's id.
    public static func describe(_ peer: SecurityRule.Peer) -> String {
        switch peer {
        case .cidr(let cidr), .cidr6(let cidr): cidr
        case .group(_, let id, _): id.rawValue
        }
    }

    private func updateRules(
        of id: SecurityGroupID, _ direction: RuleDirection, _ change: @escaping @Sendable ([SecurityRule]) throws -> [SecurityRule]
    ) async throws {
        try await commit { txn in
            guard var group = try txn.get(id.rawValue, from: CloudSchema.securityGroups) else {
                throw EucaError(.notFound, .securityGroup, "The security group '\(id)' does not exist")
            }
            switch direction {
            case .ingress: group.ingress = try change(group.ingress)
            case .egress: group.egress = try change(group.egress)
            }
            try txn.put(group, at: id.rawValue, in: CloudSchema.securityGroups)
        }
        await publishNetworkPlan()
    }

    /// Groups named in a RunInstances request (by name and by id), or the account's default.
    func resolveLaunchGroups(names: [String], ids: [String], account: AccountID) async throws -> [GroupIdentifier] {
        let fallback = try await defaultGroup(for: account)
        guard !names.isEmpty || !ids.isEmpty else { return [GroupIdentifier(id: fallback.id, name: fallback.name)] }
        let tables = state.read { ($0.groups, $0.groupNames) }
        var groups: [GroupIdentifier] = []
        for reference in names.map(GroupReference.name) + ids.map(GroupReference.id) {
            let group = try Self.lookup(reference, account: account, in: tables)
            if !groups.contains(where: { $0.id == group.id }) { groups.append(GroupIdentifier(id: group.id, name: group.name)) }
        }
        return groups
    }

    /// Publishes the plan after every change to the state (launches, terminations, addresses and
    /// groups alike), at most every `interval`, and at least every `refresh` (for a cluster or
    /// node that started again meanwhile), until cancelled.
    func publishOnChange(interval: Duration = .milliseconds(50), refresh: Duration = .seconds(30)) async {
        while !Task.isCancelled {
            let seen = state.version
            await publishNetworkPlan()
            try? await Task.sleep(for: interval)
            let state = self.state
            await withTaskGroup(of: Void.self) { group in
                group.addTask { try? await state.waitForChange(after: seen) }
                group.addTask { try? await Task.sleep(for: refresh) }
                await group.next()
                group.cancelAll()
            }
        }
    }

    /// What each node carries in VPC mode, as the cloud's records and policy say: per node (or
    /// the one named) and VPC, the plan its node controller makes of them. Computed, not asked of
    /// the node: an operator sees what will be done before it is done.
    public func hostPlans(node: String? = nil) throws -> [(node: String, plan: VPCNodeNetwork.Plan)] {
        let policy = NetworkPolicy(groups: groupPolicies())
        let placed: [String: [Int: [String: (macAddress: String, network: InstanceNetwork)]]] = state.read { tables in
            var placed: [String: [Int: [String: (macAddress: String, network: InstanceNetwork)]]] = [:]
            for instance in tables.instances.values where CloudState.Tables.holds(instance) {
                guard let host = instance.node?.rawValue, node == nil || host == node, let network = instance.launch.network else { continue }
                placed[host, default: [:]][network.vni, default: [:]][instance.id.rawValue] = (instance.macAddress, network)
            }
            return placed
        }
        return try placed.sorted { $0.key < $1.key }.flatMap { host, vpcs in
            let underlay = context.nodeAddress(NodeID(host))
            return try vpcs.sorted { $0.key < $1.key }.map { vni, ports in
                (host, try VPCNodeNetwork.plan(vni: vni, ports: ports, policy: policy, underlay: underlay))
            }
        }
    }

    /// What each node enforces for its bridged instances in SYSTEM mode, as the cloud's records
    /// and policy say: per node (or the one named), the plan its node controller makes of them.
    public func bridgedPlans(node: String? = nil) -> [(node: String, plan: BridgedPlan)] {
        let policy = NetworkPolicy(groups: groupPolicies())
        let placed: [String: [String: (device: String, macAddress: String)]] = state.read { tables in
            var placed: [String: [String: (device: String, macAddress: String)]] = [:]
            for instance in tables.instances.values where CloudState.Tables.holds(instance) && instance.vni == nil {
                guard let host = instance.node?.rawValue, node == nil || host == node else { continue }
                placed[host, default: [:]][instance.id.rawValue] = (BridgedPlan.device(for: instance.id), instance.macAddress)
            }
            return placed
        }
        return placed.sorted { $0.key < $1.key }.map { host, instances in (host, BridgedPlan.plan(bridge: nil, instances: instances, policy: policy)) }
    }

    /// Hands the current groups and their members to the network mode and its applier.
    func publishNetworkPlan() async {
        // The state's version before the state is read: a plan of a later generation is of a
        // state at least as new. The process's start time keeps generations growing across restarts.
        let generation = Self.epoch &+ state.version
        var plan = network.plan(groupPolicies())
        plan.generation = generation
        guard let applier = networkApplier else { return }
        do {
            try await applier.apply(plan)
        } catch {
            logger.error("the network plan could not be applied", metadata: ["error": "\(error)"])
        }
    }

    /// When this process started, in microseconds since 1970: the base of policy generations.
    static let epoch = UInt64(Date().timeIntervalSince1970 * 1_000_000)

    /// Every group with its rules and its members (the instances that occupy a node).
    func groupPolicies() -> [GroupPolicy] {
        let context = self.context
        return state.read { tables in
            var members: [SecurityGroupID: [String: InstanceAddresses]] = [:]
            for instance in tables.instances.values where instance.state != .terminated && instance.state != .stopped {
                let addresses = InstanceAddresses(
                    macAddress: instance.macAddress, privateIp: instance.privateIp, publicIp: instance.publicIp, vni: instance.vni,
                    host: instance.vni == nil ? nil : context.nodeAddress(instance.node))
                for group in instance.groups { members[group.id, default: [:]][instance.id.rawValue] = addresses }
            }
            return tables.groups.values.sorted { $0.id < $1.id }.map { group in
                GroupPolicy(
                    groupId: group.id.rawValue, accountId: group.accountId.rawValue,
                    ingress: group.ingress.map(\.firewallRule), egress: group.egress.map(\.firewallRule),
                    members: members[group.id] ?? [:])
            }
        }
    }
}
