import EucaCloud
import EucaCore
import EucaSecurity
import Foundation

/// What an action handler gets: who asked, what they sent, and the cloud.
struct ActionContext: Sendable {
    let principal: Principal
    let params: QueryParameters
    let cloud: CloudController
    /// The API version the client sent.
    var version: String = EC2API.defaultVersion

    /// Whether the client's version knows security group ids (EC2 added them in 2011-01-01;
    /// before, `groupId` in a `groupSet` held the group's name).
    var supportsGroupIds: Bool { version >= "2011-01-01" }
}

/// An implemented EC2 action.
struct EC2Action: Sendable {
    /// Writes the response body (inside `<ActionResponse>`, after `requestId`).
    let run: @Sendable (ActionContext, inout XMLWriter) async throws -> Void
    /// Throws `unauthorized` when the caller may not do this at all; runs before `DryRun` is
    /// answered, so a dry run tells a caller whether it would be allowed.
    var authorize: (@Sendable (ActionContext) throws -> Void)? = nil
    /// What the action does not do yet, for the coverage table; nil when it is complete.
    var limits: String? = nil

    init(run: @escaping @Sendable (ActionContext, inout XMLWriter) async throws -> Void,
         authorize: (@Sendable (ActionContext) throws -> Void)? = nil, limits: String? = nil) {
        self.run = run
        self.authorize = authorize
        self.limits = limits
    }
}

/// Every implemented action, by name. Names in ``knownEC2Actions`` that are missing here are
/// answered with `Unsupported`.
enum EC2Actions {
    static let implemented: [String: EC2Action] = coreActions
        .merging(securityGroupActions) { first, _ in first }
        .merging(addressActions) { first, _ in first }
        .merging(instanceAttributeActions) { first, _ in first }
        .merging(imageActions) { first, _ in first }
        .merging(vpcActions) { first, _ in first }
        .merging(networkInterfaceActions) { first, _ in first }
        .merging(defaultVPCPartActions) { first, _ in first }

    /// The filters each Describe action reads from its resources, for the coverage table.
    static let filterNames: [String: Set<String>] = [
        "DescribeRegions": Set(regionFilters.fields.keys),
        "DescribeAvailabilityZones": Set(zoneFilters.fields.keys),
        "DescribeInstanceTypes": Set(typeFilters.fields.keys),
        "DescribeImages": Set(imageFilters(admin: nil).fields.keys),
        "DescribeKeyPairs": Set(keyPairFilters.fields.keys),
        "DescribeInstances": Set(instanceFilters.fields.keys).union(["availability-zone-id"]),
        "DescribeTags": Set(tagFilters.fields.keys),
        "DescribeAddresses": Set(addressFilters.fields.keys),
        "DescribeInstanceStatus": Set(statusFilters.fields.keys),
        "DescribeSecurityGroups": Set(securityGroupFilters.fields.keys),
        "DescribeVpcs": Set(vpcFilters.fields.keys),
        "DescribeSubnets": Set(subnetFilters.fields.keys),
        "DescribeNetworkInterfaces": Set(networkInterfaceFilters.fields.keys),
        "DescribeInternetGateways": Set(internetGatewayFilters.fields.keys),
        "DescribeRouteTables": Set(routeTableFilters.fields.keys),
        "DescribeNetworkAcls": Set(networkAclFilters.fields.keys),
        "DescribeDhcpOptions": Set(dhcpOptionsFilters.fields.keys),
        "DescribeSecurityGroupRules": Set(securityGroupRuleFilters.fields.keys),
    ]

    static let coreActions: [String: EC2Action] = [
        "DescribeRegions": EC2Action(run: describeRegions),
        "DescribeAvailabilityZones": EC2Action(
            run: describeAvailabilityZones, limits: "`verbose` (cloud administrators) adds Eucalyptus' per-type free/max rows"),
        "DescribeInstanceTypes": EC2Action(run: describeInstanceTypes),
        "DescribeImages": EC2Action(run: describeImages),
        "CreateKeyPair": EC2Action(run: createKeyPair, limits: "KeyFormat ppk"),
        "ImportKeyPair": EC2Action(run: importKeyPair),
        "DescribeKeyPairs": EC2Action(run: describeKeyPairs),
        "DeleteKeyPair": EC2Action(run: deleteKeyPair),
        "RunInstances": EC2Action(
            run: runInstances,
            limits: "subnets other than the default ones, network interfaces, block device mappings, launch templates, spot, IAM profiles, capacity reservations"),
        "DescribeInstances": EC2Action(run: describeInstances),
        "TerminateInstances": EC2Action(run: terminateInstances),
        "StopInstances": EC2Action(run: stopInstances, limits: "Hibernate"),
        "StartInstances": EC2Action(run: startInstances),
        "RebootInstances": EC2Action(run: rebootInstances),
        "GetConsoleOutput": EC2Action(run: getConsoleOutput),
        "CreateTags": EC2Action(run: createTags),
        "DeleteTags": EC2Action(run: deleteTags),
        "DescribeTags": EC2Action(run: describeTags),
    ]

    /// The resources named in `names` (all of them when none are named) that pass `filter`; a
    /// name that matches nothing is the error `missing` makes.
    static func select<Resource>(
        _ all: [Resource], named names: [String], by key: (Resource) -> String, _ filter: CompiledFilter<Resource>,
        missing: (String) -> EucaError
    ) throws(EucaError) -> [Resource] {
        for name in names where !all.contains(where: { key($0) == name }) { throw missing(name) }
        return all.filter { (names.isEmpty || names.contains(key($0))) && filter.matches($0) }
    }

    // MARK: - Regions, zones, types

    static let regionFilters = FilterSet<CloudController.Region>("DescribeRegions", fields: [
        "region-name": { [$0.name] },
        "endpoint": { [$0.endpoint] },
        "opt-in-status": { _ in ["opt-in-not-required"] },
    ])

    static func describeRegions(_ context: ActionContext, _ xml: inout XMLWriter) async throws {
        let names = context.params.list("RegionName")
        // Every region is enabled: asking for disabled ones too changes nothing.
        _ = try context.params.boolean("AllRegions")
        let filter = try regionFilters.compile(try context.params.filters())
        let shown = try select(context.cloud.describeRegions(), named: names, by: \.name, filter) { name in
            EucaError(.invalidParameter, .region, "Invalid region: \(name)")
        }
        xml.set("regionInfo", shown) { xml, region in
            xml.leaf("regionName", region.name)
            xml.leaf("regionEndpoint", region.endpoint)
            xml.leaf("optInStatus", "opt-in-not-required")
        }
    }

    static let zoneFilters = FilterSet<CloudController.Zone>("DescribeAvailabilityZones", fields: [
        "zone-name": { [$0.name] },
        "zone-id": { [$0.id] },
        "region-name": { [$0.region] },
        "state": { [$0.state] },
        "zone-type": { _ in ["availability-zone"] },
        "opt-in-status": { _ in ["opt-in-not-required"] },
        "group-name": { [$0.region] },
    ])

    static func describeAvailabilityZones(_ context: ActionContext, _ xml: inout XMLWriter) async throws {
        // `verbose` is Eucalyptus' request for capacity detail: for a cloud administrator, each
        // zone is followed by one row per VM type with how many more fit and how many fit at all.
        var names = context.params.list("ZoneName")
        let verbose = names.contains("verbose")
        names.removeAll { $0 == "verbose" }
        // Every zone is opted in: asking for the others too changes nothing.
        _ = try context.params.boolean("AllAvailabilityZones")
        let filter = try zoneFilters.compile(try context.params.filters())
        let named = try select(context.cloud.describeAvailabilityZones(), named: names, by: \.name, filter) { name in
            EucaError(.invalidParameter, .zone, "The zone '\(name)' does not exist.")
        }
        let zoneIds = context.params.list("ZoneId")
        let shown = try select(named, named: zoneIds, by: \.id, filter) { id in
            EucaError(.invalidParameter, .zone, "The zone ID '\(id.prefix(64))' does not exist.")
        }
        var rows: [(name: String, id: String?, state: String, region: String)] = []
        for zone in shown {
            rows.append((zone.name, zone.id, zone.state, zone.region))
            guard verbose && context.principal.isCloudAdmin else { continue }
            rows.append(("|- vm types", nil, "free / max   cpu   ram  disk", zone.region))
            for (type, free, max) in await context.cloud.capacity(of: zone.name) ?? context.cloud.instanceTypes().map({ ($0, 0, 0) }) {
                rows.append(("|- \(type.name)", nil, capacityLine(free: free, max: max, type), zone.region))
            }
        }
        xml.set("availabilityZoneInfo", rows) { xml, row in
            xml.leaf("zoneName", row.name)
            xml.leaf("zoneId", ifPresent: row.id)
            xml.leaf("zoneState", row.state)
            xml.leaf("regionName", row.region)
            xml.leaf("zoneType", "availability-zone")
            xml.leaf("optInStatus", "opt-in-not-required")
            xml.leaf("groupName", row.region)
            xml.open("messageSet")
            xml.close("messageSet")
        }
    }

    /// One VM type's row as Eucalyptus printed it: `0003 / 0004   1    192     2`.
    static func capacityLine(free: Int, max: Int, _ type: VMType) -> String {
        func padded(_ value: Int, _ width: Int, zeros: Bool = false) -> String {
            let text = String(value)
            return String(repeating: zeros ? "0" : " ", count: Swift.max(0, width - text.count)) + text
        }
        return "\(padded(free, 4, zeros: true)) / \(padded(max, 4, zeros: true))\(padded(type.cores, 4))\(padded(type.memoryMiB, 7))\(padded(type.diskGiB, 6))"
    }

    static let typeFilters = FilterSet<VMType>("DescribeInstanceTypes", fields: [
        "instance-type": { [$0.name] },
        "vcpu-info.default-vcpus": { [String($0.cores)] },
        "memory-info.size-in-mib": { [String($0.memoryMiB)] },
        "instance-storage-info.total-size-in-gb": { [String($0.diskGiB)] },
        "instance-storage-supported": { _ in ["true"] },
        "current-generation": { _ in ["false"] },
        // What the answer shows alike for every type.
        "free-tier-eligible": { _ in ["false"] },
        "supported-usage-class": { _ in ["on-demand"] },
        "supported-root-device-type": { _ in ["instance-store"] },
        "supported-virtualization-type": { _ in ["hvm", "paravirtual"] },
        "bare-metal": { _ in ["false"] },
        "processor-info.supported-architecture": { _ in ["x86_64"] },
        "vcpu-info.default-cores": { [String($0.cores)] },
        "vcpu-info.default-threads-per-core": { _ in ["1"] },
        "instance-storage-info.disk.count": { _ in ["1"] },
        "instance-storage-info.disk.size-in-gb": { [String($0.diskGiB)] },
        "instance-storage-info.disk.type": { _ in ["hdd"] },
        "hibernation-supported": { _ in ["false"] },
        "burstable-performance-supported": { _ in ["false"] },
        "dedicated-hosts-supported": { _ in ["false"] },
        "auto-recovery-supported": { _ in ["false"] },
    ])

    static func describeInstanceTypes(_ context: ActionContext, _ xml: inout XMLWriter) async throws {
        let names = context.params.list("InstanceType")
        let filter = try typeFilters.compile(try context.params.filters())
        let paging = try Paging(context.params, range: 5...100)
        let selected = try select(context.cloud.instanceTypes(), named: names, by: \.name, filter) { name in
            EucaError(.notFound, .instanceType, "The following supplied instance types do not exist: [\(name.prefix(64))]")
        }
        let page = paging.page(selected.sorted { $0.name < $1.name }) { $0.name }
        let shown = Array(page.items)
        xml.set("instanceTypeSet", shown) { xml, type in
            xml.leaf("instanceType", type.name)
            xml.leaf("currentGeneration", false)
            xml.leaf("freeTierEligible", false)
            xml.set("supportedUsageClasses", ["on-demand"]) { xml, value in Self.raw(&xml, value) }
            xml.set("supportedRootDeviceTypes", ["instance-store"]) { xml, value in Self.raw(&xml, value) }
            xml.set("supportedVirtualizationTypes", ["hvm", "paravirtual"]) { xml, value in Self.raw(&xml, value) }
            xml.leaf("bareMetal", false)
            xml.element("processorInfo") { xml in
                xml.set("supportedArchitectures", ["x86_64"]) { xml, value in Self.raw(&xml, value) }
            }
            xml.element("vCpuInfo") { xml in
                xml.leaf("defaultVCpus", type.cores)
                xml.leaf("defaultCores", type.cores)
                xml.leaf("defaultThreadsPerCore", 1)
            }
            xml.element("memoryInfo") { xml in xml.leaf("sizeInMiB", type.memoryMiB) }
            xml.leaf("instanceStorageSupported", true)
            xml.element("instanceStorageInfo") { xml in
                xml.leaf("totalSizeInGB", type.diskGiB)
                xml.set("disks", [type.diskGiB]) { xml, size in
                    xml.leaf("sizeInGB", size)
                    xml.leaf("count", 1)
                    xml.leaf("type", "hdd")
                }
            }
            xml.leaf("hibernationSupported", false)
            xml.leaf("burstablePerformanceSupported", false)
            xml.leaf("dedicatedHostsSupported", false)
            xml.leaf("autoRecoverySupported", false)
        }
        // Eucalyptus' own answer, which libcloud's EucNodeDriver.list_sizes reads; EC2 clients
        // ignore it.
        xml.appendRaw("<instanceTypeDetails xmlns=\"\(eucalyptusNamespace)\">")
        for type in shown {
            xml.open("item")
            xml.leaf("name", type.name)
            xml.leaf("cpu", type.cores)
            xml.leaf("disk", type.diskGiB)
            xml.leaf("memory", type.memoryMiB)
            xml.close("item")
        }
        xml.close("instanceTypeDetails")
        xml.leaf("nextToken", ifPresent: page.nextToken)
    }

    /// The namespace of Eucalyptus' own messages, as libcloud's Eucalyptus driver expects it.
    static let eucalyptusNamespace = "http://msgs.eucalyptus.com/3.3.0"

    /// Writes escaped text directly (the content of an `<item>` that is a plain string).
    static func raw(_ xml: inout XMLWriter, _ value: String) {
        xml.text(value)
    }

    // MARK: - Images

    static func imageFilters(admin: AccountID?) -> FilterSet<ImageRecord> {
        FilterSet("DescribeImages", fields: [
            "image-id": { [$0.id.rawValue] },
            "name": { [$0.name] },
            "description": { [$0.description ?? ""] },
            "architecture": { [$0.architecture] },
            "image-type": { [$0.kind.ec2Name] },
            "state": { _ in ["available"] },
            "owner-id": { [$0.ownerId.rawValue] },
            "owner-alias": { $0.ownerId == admin ? ["eucalyptus"] : [] },
            "is-public": { [$0.isPublic ? "true" : "false"] },
            "kernel-id": { $0.kernelId.map { [$0.rawValue] } ?? [] },
            "ramdisk-id": { $0.ramdiskId.map { [$0.rawValue] } ?? [] },
            "root-device-type": { _ in ["instance-store"] },
            "root-device-name": { _ in [InstanceFacts.rootDeviceName] },
            "virtualization-type": { [InstanceFacts.virtualizationType($0.boot)] },
            "hypervisor": { _ in [InstanceFacts.hypervisor] },
            "manifest-location": { [$0.location] },
            "creation-date": { [EC2Time.format($0.createdAt)] },
            "free-tier-eligible": { _ in ["false"] },
        ], id: { $0.id.rawValue })
    }

    static func describeImages(_ context: ActionContext, _ xml: inout XMLWriter) async throws {
        let principal = context.principal
        let admin = context.cloud.accounts.adminAccountId
        let ids = context.params.list("ImageId")
        for id in ids where ImageID(parsing: id) == nil {
            throw EucaError(.malformedID, .image, "Invalid id: \"\(id)\"")
        }
        let owners = context.params.list("Owner")
        let executableBy = context.params.list("ExecutableBy")
        // No image here is ever deprecated or disabled, so including those changes nothing.
        _ = try context.params.boolean("IncludeDeprecated")
        _ = try context.params.boolean("IncludeDisabled")
        let paging = try Paging(context.params, range: 5...1000)
        if paging.maxResults != nil && !ids.isEmpty {
            throw EC2Error("InvalidParameterCombination", "The parameter ImageId cannot be used with the parameter MaxResults.")
        }
        // Tags are the owner's own: another account that may launch an image sees none of them.
        let tags = context.cloud.tags.all().filter { $0.value.type == .image && $0.value.accountId == principal.accountId }
        let filter = try imageFilters(admin: admin).compile(try context.params.filters(), tags: tags)
        var images = context.cloud.images.list(for: principal)
        if !ids.isEmpty {
            let visible = Set(images.map(\.id.rawValue))
            let missing = ids.filter { !visible.contains($0) }
            if !missing.isEmpty {
                throw EucaError(.notFound, .image, "The image id '[\(missing.joined(separator: ", "))]' does not exist")
            }
            let wanted = Set(ids)
            images = images.filter { wanted.contains($0.id.rawValue) }
        }
        if !owners.isEmpty {
            images = images.filter { image in
                owners.contains { owner in
                    switch owner {
                    case "self": image.ownerId == principal.accountId
                    case "amazon", "eucalyptus", "system": image.ownerId == admin
                    default: image.ownerId.rawValue == owner
                    }
                }
            }
        }
        if !executableBy.isEmpty {
            images = images.filter { image in
                executableBy.contains { user in
                    switch user {
                    case "all": image.isPublic
                    case "self": image.ownerId == principal.accountId || image.launchUsers.contains(principal.accountId)
                    // Whom an image is shared with is its owner's business: others learn it of
                    // no account but their own.
                    default:
                        image.ownerId.rawValue == user
                            || (image.launchUsers.contains(AccountID(rawValue: user))
                                && (image.ownerId == principal.accountId || user == principal.accountId.rawValue))
                    }
                }
            }
        }
        images = images.filter(filter.matches)
        let page = paging.page(images) { $0.id.rawValue }
        xml.set("imagesSet", page.items) { xml, image in
            xml.leaf("imageId", image.id.rawValue)
            xml.leaf("imageLocation", image.location)
            xml.leaf("imageState", "available")
            xml.leaf("imageOwnerId", image.ownerId.rawValue)
            xml.leaf("creationDate", EC2Time.format(image.createdAt))
            xml.leaf("isPublic", image.isPublic)
            xml.leaf("architecture", image.architecture)
            xml.leaf("imageType", image.kind.ec2Name)
            xml.leaf("kernelId", ifPresent: image.kernelId?.rawValue)
            xml.leaf("ramdiskId", ifPresent: image.ramdiskId?.rawValue)
            if image.ownerId == admin { xml.leaf("imageOwnerAlias", "eucalyptus") }
            xml.leaf("name", image.name)
            xml.leaf("description", ifPresent: image.description)
            xml.appendRaw(InstanceFacts.imageRootDeviceXML)
            xml.leaf("virtualizationType", InstanceFacts.virtualizationType(image.boot))
            xml.appendRaw(InstanceFacts.hypervisorXML)
            xml.appendRaw(InstanceFacts.platformXML)
            xml.tagSet(tags[image.id.rawValue]?.tags ?? [:])
        }
        xml.leaf("nextToken", ifPresent: page.nextToken)
    }

    // MARK: - Key pairs

    static func writeKeyPair(_ xml: inout XMLWriter, _ record: KeyPairRecord) {
        xml.leaf("keyPairId", record.id.rawValue)
        xml.leaf("keyName", record.name)
        xml.leaf("keyFingerprint", record.fingerprint)
    }

    static func createKeyPair(_ context: ActionContext, _ xml: inout XMLWriter) async throws {
        let name = try context.params.required("KeyName")
        let typeText = context.params["KeyType"] ?? "rsa"
        guard let type = KeyType(rawValue: typeText) else {
            throw EucaError(.invalidParameter, .parameter, "Value (\(typeText)) for parameter KeyType is invalid. Expected rsa or ed25519.")
        }
        if let format = context.params["KeyFormat"], format != "pem" {
            if format == "ppk" { throw EucaError(.unsupported, .parameter, "KeyFormat ppk is not supported by this cloud; use pem.") }
            throw EucaError(.invalidParameter, .parameter, "Value (\(format)) for parameter KeyFormat is invalid. Expected pem or ppk.")
        }
        let tags = try context.params.tagSpecifications(allowed: [.keyPair])[.keyPair] ?? []
        let (record, material) = try await context.cloud.keyPairs.create(context.principal, name: name, type: type, tags: tags)
        writeKeyPair(&xml, record)
        xml.leaf("keyMaterial", material)
        xml.tagSet(context.cloud.tags.tags(of: record.id.rawValue))
    }

    static func importKeyPair(_ context: ActionContext, _ xml: inout XMLWriter) async throws {
        let name = try context.params.required("KeyName")
        let encoded = try context.params.required("PublicKeyMaterial")
        guard let material = Data(base64Encoded: encoded, options: .ignoreUnknownCharacters) else {
            throw EucaError(.invalidKeyFormat, .keyPair, "Key is not in valid OpenSSH public key format: PublicKeyMaterial is not base64")
        }
        let tags = try context.params.tagSpecifications(allowed: [.keyPair])[.keyPair] ?? []
        let record = try await context.cloud.keyPairs.importKey(context.principal, name: name, material: [UInt8](material), tags: tags)
        writeKeyPair(&xml, record)
        xml.tagSet(context.cloud.tags.tags(of: record.id.rawValue))
    }

    static let keyPairFilters = FilterSet<KeyPairRecord>("DescribeKeyPairs", fields: [
        "key-name": { [$0.name] },
        "key-pair-id": { [$0.id.rawValue] },
        "fingerprint": { [$0.fingerprint] },
        "key-type": { [$0.type.rawValue] },
    ], id: { $0.id.rawValue })

    static func describeKeyPairs(_ context: ActionContext, _ xml: inout XMLWriter) async throws {
        let names = context.params.list("KeyName")
        let ids = context.params.list("KeyPairId")
        let includePublicKey = try context.params.boolean("IncludePublicKey") ?? false
        let tags = context.cloud.tags.all()
        let filter = try keyPairFilters.compile(try context.params.filters(), tags: tags)
        let all = context.cloud.keyPairs.list(for: context.principal)
        for name in names where !all.contains(where: { $0.name == name }) {
            throw EucaError(.notFound, .keyPair, "The key pair '\(name)' does not exist")
        }
        for id in ids where !all.contains(where: { $0.id.rawValue == id }) {
            if KeyPairID(parsing: id) == nil { throw EucaError(.invalidParameter, .keyPair, "Invalid id: \"\(id)\"") }
            throw EucaError(.notFound, .keyPair, "The key pair '\(id)' does not exist")
        }
        let shown = all.filter {
            (names.isEmpty || names.contains($0.name)) && (ids.isEmpty || ids.contains($0.id.rawValue)) && filter.matches($0)
        }
        xml.set("keySet", shown) { xml, record in
            writeKeyPair(&xml, record)
            xml.leaf("keyType", record.type.rawValue)
            xml.tagSet(tags[record.id.rawValue]?.tags ?? [:])
            if includePublicKey { xml.leaf("publicKey", record.publicKey) }
            xml.leaf("createTime", EC2Time.format(record.createdAt))
        }
    }

    static func deleteKeyPair(_ context: ActionContext, _ xml: inout XMLWriter) async throws {
        let name = context.params["KeyName"]
        let id = context.params["KeyPairId"]
        guard name != nil || id != nil else {
            throw EucaError(.missingParameter, .parameter, "The request must contain the parameter KeyName or KeyPairId")
        }
        let deleted = try await context.cloud.keyPairs.delete(context.principal, name: name, id: id)
        xml.leaf("return", true)
        xml.leaf("keyPairId", ifPresent: deleted?.rawValue)
    }

    // MARK: - Instances

    static func instanceIDs(_ params: QueryParameters, required: Bool) throws(EucaError) -> [InstanceID] {
        let texts = params.list("InstanceId")
        if required && texts.isEmpty {
            throw EucaError(.missingParameter, .parameter, "The request must contain the parameter InstanceId")
        }
        var ids: [InstanceID] = []
        for text in texts {
            guard let id = InstanceID(parsing: text) else {
                throw EucaError(.malformedID, .instance, "Invalid id: \"\(text)\"")
            }
            if !ids.contains(id) { ids.append(id) }
        }
        return ids
    }

    /// What `NetworkInterface.1` asks of the instance's one interface (device 0): its subnet,
    /// groups, private address and whether it has a public address of its own. Every instance has
    /// exactly that interface, deleted with the instance; anything else is refused by name (the
    /// fields no interface here has, by ``ActionParameters``).
    static func primaryInterface(_ params: QueryParameters) throws -> (subnetId: String?, groupIds: [String], privateIp: String?, associatePublicIp: Bool?)? {
        let keys = params.values.keys.filter { $0.hasPrefix("NetworkInterface.") }
        guard !keys.isEmpty else { return nil }
        for key in keys {
            let parts = key.split(separator: ".", maxSplits: 2)
            guard parts.count == 3, parts[1] == "1" || parts[1] == "0" else {
                throw EucaError(.unsupported, .parameter, "Only one network interface (device index 0) is supported by this cloud: \(key.prefix(64)).")
            }
        }
        // One interface, numbered from 1 (boto3) or 0 (libcloud), never both.
        let indices = Set(keys.map { $0.split(separator: ".")[1] })
        guard indices.count == 1, let index = indices.first else {
            throw EucaError(.unsupported, .parameter, "Only one network interface (device index 0) is supported by this cloud.")
        }
        let prefix = "NetworkInterface.\(index)."
        if let device = params[prefix + "DeviceIndex"], device != "0" {
            throw EucaError(.unsupported, .parameter, "\(prefix)DeviceIndex \(device.prefix(16)) is not supported by this cloud: only device index 0 is.")
        }
        if try params.boolean(prefix + "DeleteOnTermination") == false {
            throw EucaError(.unsupported, .parameter, "An interface that outlives its instance (DeleteOnTermination=false) is not supported by this cloud yet.")
        }
        return (params[prefix + "SubnetId"], params.list(prefix + "SecurityGroupId"), params[prefix + "PrivateIpAddress"],
                try params.boolean(prefix + "AssociatePublicIpAddress"))
    }

    static func runInstances(_ context: ActionContext, _ xml: inout XMLWriter) async throws {
        let params = context.params
        // What RunInstances takes is in ActionParameters; of those, these are taken in their
        // default form only.
        if let tenancy = params["Placement.Tenancy"], tenancy != "default" {
            guard ["dedicated", "host"].contains(tenancy) else {
                throw EucaError(.invalidParameter, .parameter, "Value (\(tenancy.prefix(32))) for parameter tenancy is invalid. Expected default, dedicated or host.")
            }
            throw EucaError(.unsupported, .parameter, "Tenancy \(tenancy) is not supported by this cloud; its instances share their nodes (tenancy default).")
        }
        for (name, what) in [
            ("EbsOptimized", "EBS-optimized instances"), ("HibernationOptions.Configured", "Hibernation"),
            ("EnclaveOptions.Enabled", "Enclaves"),
        ] where try params.boolean(name) == true {
            throw EucaError(.unsupported, .parameter, "\(what) (\(name)=true) are not supported by this cloud.")
        }
        // Instances boot from instance-store images: a launch makes no volume to tag.
        let tagSpecs = try params.tagSpecifications(allowed: [.instance], uncreated: ["volume"])
        let imageId = try params.required("ImageId")
        var userData: Data?
        if let encoded = params["UserData"], !encoded.isEmpty {
            guard let decoded = Data(base64Encoded: encoded, options: .ignoreUnknownCharacters) else {
                throw EC2Error("InvalidUserData.Malformed", "Invalid BASE64 encoding of user data.")
            }
            userData = decoded
        }
        let groups = params.list("SecurityGroup")
        var groupIds = params.list("SecurityGroupId")
        let interface = try primaryInterface(params)
        if let interface {
            if !groupIds.isEmpty || !groups.isEmpty {
                throw EC2Error(
                    "InvalidParameterCombination",
                    "Network interfaces and an instance-level security groups may not be specified on the same request")
            }
            groupIds = interface.groupIds
        }
        var behavior = ShutdownBehavior.stop
        if let text = params["InstanceInitiatedShutdownBehavior"] {
            guard let value = ShutdownBehavior(rawValue: text) else {
                throw EucaError(.invalidParameter, .parameter, "Value (\(text)) for parameter InstanceInitiatedShutdownBehavior is invalid. Expected stop or terminate.")
            }
            behavior = value
        }
        let metadata = try metadataOptionParameters(params, prefix: "MetadataOptions.")
        var options: MetadataOptions?
        if metadata.tokens != nil || metadata.endpoint != nil || metadata.hopLimit != nil {
            options = MetadataOptions(
                httpTokens: metadata.tokens ?? "optional", httpEndpoint: metadata.endpoint ?? "enabled",
                httpPutResponseHopLimit: metadata.hopLimit ?? 1)
            try InstanceService.validate(options!)
        }
        var zone = params["Placement.AvailabilityZone"].flatMap { $0.isEmpty ? nil : $0 }
        // A subnet names its zone: the caller's default subnet of a zone launches there.
        if let interface, interface.subnetId != nil, params["SubnetId"] != nil {
            throw EC2Error(
                "InvalidParameterCombination", "Network interfaces and an instance-level subnet ID may not be specified on the same request")
        }
        if let subnetId = interface?.subnetId ?? params["SubnetId"], !subnetId.isEmpty {
            guard let subnet = context.cloud.vpcs.defaultSubnets(of: context.principal.accountId).first(where: { $0.id == subnetId }) else {
                throw EC2Error("InvalidSubnetID.NotFound", "The subnet ID '\(subnetId.prefix(64))' does not exist")
            }
            if let zone, zone != subnet.zone {
                throw EC2Error(
                    "InvalidParameterCombination",
                    "The subnet \(subnet.id) is in \(subnet.zone), not in the availability zone \(zone.prefix(64)) the request names.")
            }
            zone = subnet.zone
        }
        let request = InstanceService.RunRequest(
            imageId: imageId, instanceType: params["InstanceType"] ?? "m1.small",
            minCount: try params.integer("MinCount") ?? 1, maxCount: try params.integer("MaxCount") ?? 1,
            keyName: params["KeyName"], userData: userData, zone: zone,
            kernelId: params["KernelId"], ramdiskId: params["RamdiskId"], clientToken: params["ClientToken"],
            securityGroups: groups, securityGroupIds: groupIds,
            terminationProtected: try params.boolean("DisableApiTermination") ?? false,
            shutdownBehavior: behavior, tags: tagSpecs[.instance] ?? [])
        var run = InstanceService.RunRequest(request, metadataOptions: options)
        if interface?.privateIp != nil && params["PrivateIpAddress"] != nil {
            throw EC2Error(
                "InvalidParameterCombination", "Network interfaces and an instance-level private IP address may not be specified on the same request")
        }
        run.privateIp = interface?.privateIp ?? params["PrivateIpAddress"]
        run.associatePublicIp = interface?.associatePublicIp
        if run.privateIp != nil, run.maxCount > 1 {
            throw EC2Error("InvalidParameterCombination", "A private IP address can be specified for one instance only (MaxCount 1).")
        }
        run.stopProtected = try params.boolean("DisableApiStop") ?? false
        run.monitored = try params.boolean("Monitoring.Enabled") ?? false
        let (reservation, instances) = try await context.cloud.instances.run(context.principal, run)
        writeReservationBody(&xml, reservation, instances, tags: context.cloud.tags.all(), modern: context.supportsGroupIds)
    }

    static func writeReservationBody<Instances: Sequence<InstanceRecord>>(
        _ xml: inout XMLWriter, _ reservation: ReservationRecord, _ instances: Instances, tags: [String: ResourceTags], modern: Bool,
        showNode: Bool = false
    ) {
        xml.leaf("reservationId", reservation.id.rawValue)
        xml.leaf("ownerId", reservation.accountId.rawValue)
        writeGroupSet(&xml, reservation.groups, modern: modern)
        xml.set("instancesSet", instances) { xml, instance in
            writeInstance(&xml, instance, tags: tags[instance.id.rawValue]?.tags ?? [:], modern: modern, showNode: showNode)
        }
    }

    /// `showNode`: the cloud administrator's `verbose` view, where the placement's `hostId` names
    /// the node the instance was placed on (EC2 names a dedicated host there).
    static func writeInstance(_ xml: inout XMLWriter, _ instance: InstanceRecord, tags: [String: String], modern: Bool, showNode: Bool = false) {
        // Its subnet, VPC and launch time, each written three times, are found once.
        let interface = InterfaceView(instance)
        xml.leaf("instanceId", instance.id.rawValue)
        xml.leaf("imageId", instance.imageId.rawValue)
        xml.element("instanceState") { xml in
            xml.leaf("code", instance.state.code)
            xml.leaf("name", instance.state.name)
        }
        xml.appendRaw("<privateDnsName></privateDnsName><dnsName></dnsName>")
        xml.leaf("reason", instance.transitionReason)
        xml.leaf("keyName", ifPresent: instance.keyName)
        xml.leaf("amiLaunchIndex", instance.launchIndex)
        xml.appendRaw("<productCodes></productCodes>")
        xml.leaf("instanceType", instance.vmType.name)
        xml.leaf("launchTime", interface.launched)
        xml.appendRaw("<placement><availabilityZone>")
        xml.text(instance.zone)
        xml.appendRaw("</availabilityZone><groupName></groupName>")
        if showNode, let node = instance.node { xml.leaf("hostId", node.rawValue) }
        xml.appendRaw("<tenancy>default</tenancy></placement>")
        xml.leaf("kernelId", ifPresent: instance.kernelId?.rawValue)
        xml.leaf("ramdiskId", ifPresent: instance.ramdiskId?.rawValue)
        xml.appendRaw(instance.monitored == true ? "<monitoring><state>enabled</state></monitoring>" : "<monitoring><state>disabled</state></monitoring>")
        // Every instance is in its account's default VPC, in its zone's default subnet.
        xml.leaf("subnetId", interface.subnetId)
        xml.leaf("vpcId", interface.vpcId)
        xml.leaf("privateIpAddress", ifPresent: instance.privateIp)
        xml.leaf("ipAddress", ifPresent: instance.publicIp)
        xml.appendRaw("<sourceDestCheck>true</sourceDestCheck>")
        writeGroupSet(&xml, instance.groups, modern: modern)
        if let reason = instance.stateReason {
            xml.element("stateReason") { xml in
                xml.leaf("code", reason.code)
                xml.leaf("message", reason.message)
            }
        }
        // What every instance here shows alike is written as one run of text.
        xml.appendRaw(InstanceFacts.rootDeviceXML)
        xml.leaf("virtualizationType", InstanceFacts.virtualizationType(instance.boot))
        xml.leaf("clientToken", instance.clientToken ?? "")
        xml.appendRaw(InstanceFacts.hypervisorXML)
        xml.open("networkInterfaceSet")
        if instance.state != .terminated { writeInterface(&xml, interface, modern: modern) }
        xml.close("networkInterfaceSet")
        xml.appendRaw(
            "<ebsOptimized>false</ebsOptimized><hibernationOptions><configured>false</configured></hibernationOptions><enclaveOptions><enabled>false</enabled></enclaveOptions>")
        if let options = instance.metadataOptions {
            xml.element("metadataOptions") { xml in writeMetadataOptions(&xml, options, state: "applied") }
        } else {
            xml.appendRaw(InstanceFacts.defaultMetadataXML)
        }
        xml.appendRaw(InstanceFacts.platformXML)
        xml.leaf("usageOperationUpdateTime", interface.launched)
        // EC2 leaves an untagged instance's tag set out: clients see no `Tags` key.
        if !tags.isEmpty { xml.tagSet(tags) }
    }

    /// DescribeInstances' filters. Each reads what the answer shows (``writeInstance``); the
    /// documented ones missing here name what no instance of this cloud has (spot requests,
    /// capacity reservations, IPv6, EBS volumes, …) and match nothing. `availability-zone-id`
    /// is added by the request that uses it (``zoneIdFilter(_:)``).
    static let instanceFilters: FilterSet<InstanceRecord> = {
        @Sendable func metadata(_ instance: InstanceRecord) -> MetadataOptions { instance.metadataOptions ?? MetadataOptions() }
        // The primary interface's values: every instance but a terminated one has it.
        func interface(_ value: @escaping @Sendable (InstanceRecord) -> [String]) -> @Sendable (InstanceRecord) -> [String] {
            { $0.state == .terminated ? [] : value($0) }
        }
        return FilterSet("DescribeInstances", fields: [
            "instance-id": { [$0.id.rawValue] },
            "instance-state-name": { [$0.state.name] },
            "instance-state-code": { [String($0.state.code)] },
            "instance-type": { [$0.vmType.name] },
            "key-name": { present($0.keyName) },
            "availability-zone": { [$0.zone] },
            "vpc-id": { [VPCService.vpcId(of: $0.accountId)] },
            "subnet-id": { [VPCService.subnetId(of: $0.accountId, zone: $0.zone)] },
            "image-id": { [$0.imageId.rawValue] },
            "reservation-id": { [$0.reservationId.rawValue] },
            "owner-id": { [$0.accountId.rawValue] },
            "launch-index": { [String($0.launchIndex)] },
            "launch-time": { [EC2Time.format($0.launchTime)] },
            "kernel-id": { present($0.kernelId?.rawValue) },
            "ramdisk-id": { present($0.ramdiskId?.rawValue) },
            "client-token": { present($0.clientToken) },
            "instance.group-name": { $0.groups.map(\.name) },
            "instance.group-id": { $0.groups.map(\.id.rawValue) },
            "group-name": { $0.groups.map(\.name) },
            "group-id": { $0.groups.map(\.id.rawValue) },
            "private-ip-address": { present($0.privateIp) },
            "ip-address": { present($0.publicIp) },
            "architecture": { _ in ["x86_64"] },
            "hypervisor": { _ in [InstanceFacts.hypervisor] },
            "virtualization-type": { [InstanceFacts.virtualizationType($0.boot)] },
            "platform-details": { _ in [InstanceFacts.platformDetails] },
            "usage-operation": { _ in [InstanceFacts.usageOperation] },
            "root-device-type": { _ in ["instance-store"] },
            "root-device-name": { _ in [InstanceFacts.rootDeviceName] },
            "state-reason-code": { present($0.stateReason?.code) },
            "state-reason-message": { present($0.stateReason?.message) },
            "reason": { $0.transitionReason.isEmpty ? [] : [$0.transitionReason] },
            "monitoring-state": { [$0.monitored == true ? "enabled" : "disabled"] },
            "tenancy": { _ in ["default"] },
            "source-dest-check": { _ in ["true"] },
            "ebs-optimized": { _ in ["false"] },
            "hibernation-options.configured": { _ in ["false"] },
            "enclave-options.enabled": { _ in ["false"] },
            "metadata-options.state": { _ in ["applied"] },
            "metadata-options.http-tokens": { [metadata($0).httpTokens] },
            "metadata-options.http-endpoint": { [metadata($0).httpEndpoint] },
            "metadata-options.http-put-response-hop-limit": { [String(metadata($0).httpPutResponseHopLimit)] },
            "metadata-options.http-protocol-ipv4": { _ in ["enabled"] },
            "metadata-options.http-protocol-ipv6": { _ in ["disabled"] },
            "metadata-options.instance-metadata-tags": { _ in ["disabled"] },
            "network-interface.network-interface-id": interface { [InstanceFacts.interfaceId($0)] },
            "network-interface.subnet-id": interface { [VPCService.subnetId(of: $0.accountId, zone: $0.zone)] },
            "network-interface.vpc-id": interface { [VPCService.vpcId(of: $0.accountId)] },
            "network-interface.availability-zone": interface { [$0.zone] },
            "network-interface.owner-id": interface { [$0.accountId.rawValue] },
            "network-interface.mac-address": interface { [$0.macAddress] },
            "network-interface.private-ip-address": interface { present($0.privateIp) },
            "network-interface.addresses.private-ip-address": interface { present($0.privateIp) },
            "network-interface.addresses.primary": interface { _ in ["true"] },
            "network-interface.association.public-ip": interface { present($0.publicIp) },
            "network-interface.addresses.association.public-ip": interface { present($0.publicIp) },
            "network-interface.group-id": interface { $0.groups.map(\.id.rawValue) },
            "network-interface.group-name": interface { $0.groups.map(\.name) },
            "network-interface.status": interface { _ in ["in-use"] },
            "network-interface.source-dest-check": interface { _ in ["true"] },
            "network-interface.requester-managed": interface { _ in ["false"] },
            "network-interface.attachment.attachment-id": interface { [InstanceFacts.attachmentId($0)] },
            "network-interface.attachment.instance-id": interface { [$0.id.rawValue] },
            "network-interface.attachment.instance-owner-id": interface { [$0.accountId.rawValue] },
            "network-interface.attachment.device-index": interface { _ in ["0"] },
            "network-interface.attachment.network-card-index": interface { _ in ["0"] },
            "network-interface.attachment.status": interface { _ in ["attached"] },
            "network-interface.attachment.attach-time": interface { [EC2Time.format($0.launchTime)] },
            "network-interface.attachment.delete-on-termination": interface { _ in ["true"] },
        ], id: { $0.id.rawValue })
    }()

    /// The instance filters with `availability-zone-id`, for a request that asks for it.
    static func zoneIdFilter(_ context: ActionContext) -> FilterSet<InstanceRecord> {
        let zoneIds = Dictionary(context.cloud.describeAvailabilityZones().map { ($0.name, $0.id) }) { first, _ in first }
        return instanceFilters.adding("availability-zone-id") { present(zoneIds[$0.zone]) }
    }

    static func describeInstances(_ context: ActionContext, _ xml: inout XMLWriter) async throws {
        var texts = context.params.list("InstanceId")
        let verbose = texts.contains("verbose")
        texts.removeAll { $0 == "verbose" }
        var ids: [InstanceID] = []
        for text in texts {
            guard let id = InstanceID(parsing: text) else { throw EucaError(.malformedID, .instance, "Invalid id: \"\(text)\"") }
            ids.append(id)
        }
        let paging = try Paging(context.params, range: 5...1000)
        if paging.maxResults != nil && !ids.isEmpty {
            throw EC2Error("InvalidParameterCombination", "The parameter instancesSet cannot be used with the parameter maxResults.")
        }
        if !ids.isEmpty { _ = try context.cloud.instances.owned(ids, for: context.principal) }
        let tags = context.cloud.tags.all()
        let filters = try context.params.filters()
        let filterSet = filters.contains { $0.name == "availability-zone-id" } ? zoneIdFilter(context) : instanceFilters
        let filter = try filterSet.compile(filters, tags: tags)
        let wanted = Set(ids)
        let everyone = verbose && context.principal.isCloudAdmin
        let account = context.principal.accountId
        // The matching instances in a stable order (launch time, reservation, launch index),
        // found without copying any instance record.
        let (instances, reservations) = context.cloud.instances.tables()
        var matching: [(order: InstanceOrder, box: CloudState.InstanceTable.Box)] = []
        for box in instances.boxes.values {
            let instance = box.record
            if (everyone || instance.accountId == account) && (wanted.isEmpty || wanted.contains(instance.id)) && filter.matches(instance) {
                matching.append((InstanceOrder(instance), box))
            }
        }
        matching.sort { $0.order < $1.order }
        let page = try paging.page(matching, key: \.order, parse: InstanceOrder.init(token:), format: \.token)
        xml.open("reservationSet")
        var index = page.items.startIndex
        while index < page.items.endIndex {
            let reservationId = page.items[index].order.reservation
            var end = index
            while end < page.items.endIndex && page.items[end].order.reservation == reservationId { end += 1 }
            if let reservation = reservations[ReservationID(rawValue: reservationId)] {
                xml.open("item")
                writeReservationBody(
                    &xml, reservation, page.items[index..<end].lazy.map(\.box.record), tags: tags,
                    modern: context.supportsGroupIds, showNode: everyone)
                xml.close("item")
            }
            index = end
        }
        xml.close("reservationSet")
        xml.leaf("nextToken", ifPresent: page.nextToken)
    }

    /// Where an instance stands in DescribeInstances' order, and in its pagination tokens.
    struct InstanceOrder: Comparable {
        var millis: Int64
        var reservation: String
        var index: Int

        init(_ instance: InstanceRecord) {
            millis = Int64((instance.launchTime.timeIntervalSince1970 * 1000).rounded(.down))
            reservation = instance.reservationId.rawValue
            index = instance.launchIndex
        }

        init?(token: String) {
            let parts = token.split(separator: "/")
            guard parts.count == 3, let millis = Int64(parts[0]), let index = Int(parts[2]) else { return nil }
            self.millis = millis
            self.reservation = String(parts[1])
            self.index = index
        }

        var token: String { "\(millis)/\(reservation)/\(index)" }

        static func < (lhs: InstanceOrder, rhs: InstanceOrder) -> Bool {
            (lhs.millis, lhs.reservation, lhs.index) < (rhs.millis, rhs.reservation, rhs.index)
        }
    }

    // MARK: - Tags

    static let tagFilters = FilterSet<(resource: ResourceTags, key: String, value: String)>("DescribeTags", fields: [
        "key": { [$0.key] },
        "value": { [$0.value] },
        "resource-id": { [$0.resource.resourceId] },
        "resource-type": { [$0.resource.type.rawValue] },
    ])

    static func createTags(_ context: ActionContext, _ xml: inout XMLWriter) async throws {
        let ids = context.params.list("ResourceId")
        guard !ids.isEmpty else { throw EucaError(.missingParameter, .parameter, "The request must contain the parameter ResourceId") }
        let tags = try context.params.tags()
        guard !tags.isEmpty else { throw EucaError(.missingParameter, .parameter, "The request must contain the parameter Tag") }
        try await context.cloud.tags.create(context.principal, resourceIds: ids, tags: tags)
        xml.leaf("return", true)
    }

    static func deleteTags(_ context: ActionContext, _ xml: inout XMLWriter) async throws {
        let ids = context.params.list("ResourceId")
        guard !ids.isEmpty else { throw EucaError(.missingParameter, .parameter, "The request must contain the parameter ResourceId") }
        try await context.cloud.tags.delete(context.principal, resourceIds: ids, keys: try context.params.tagKeys())
        xml.leaf("return", true)
    }

    static func describeTags(_ context: ActionContext, _ xml: inout XMLWriter) async throws {
        let paging = try Paging(context.params, range: 5...1000)
        let filters = try context.params.filters()
        let compiled = try tagFilters.compile(filters.filter { !$0.name.hasPrefix("tag:") })
        let tagKeyFilters = filters.filter { $0.name.hasPrefix("tag:") }.map { filter in
            (key: String(filter.name.dropFirst(4)), patterns: filter.values.map(WildcardPattern.init))
        }
        let rows = context.cloud.tags.describe(context.principal).filter { row in
            compiled.matches(row)
                && tagKeyFilters.allSatisfy { filter in
                    guard let value = row.resource.tags[filter.key] else { return false }
                    return filter.patterns.contains { $0.matches(value) }
                }
        }
        let page = paging.page(rows) { $0.resource.resourceId + "\u{0}" + $0.key }
        xml.set("tagSet", page.items) { xml, row in
            xml.leaf("resourceId", row.resource.resourceId)
            xml.leaf("resourceType", row.resource.type.rawValue)
            xml.leaf("key", row.key)
            xml.leaf("value", row.value)
        }
        xml.leaf("nextToken", ifPresent: page.nextToken)
    }

    static func writeStateChanges(_ xml: inout XMLWriter, _ changes: [InstanceService.StateChange]) {
        xml.set("instancesSet", changes) { xml, change in
            xml.leaf("instanceId", change.instanceId.rawValue)
            xml.element("currentState") { xml in
                xml.leaf("code", change.current.code)
                xml.leaf("name", change.current.name)
            }
            xml.element("previousState") { xml in
                xml.leaf("code", change.previous.code)
                xml.leaf("name", change.previous.name)
            }
        }
    }

    static func terminateInstances(_ context: ActionContext, _ xml: inout XMLWriter) async throws {
        let ids = try instanceIDs(context.params, required: true)
        writeStateChanges(&xml, try await context.cloud.instances.terminate(context.principal, ids))
    }

    static func stopInstances(_ context: ActionContext, _ xml: inout XMLWriter) async throws {
        let ids = try instanceIDs(context.params, required: true)
        if try context.params.boolean("Hibernate") == true {
            throw EucaError(.unsupported, .parameter, "Hibernation is not supported by this cloud.")
        }
        if try context.params.boolean("Force") == true {
            throw EucaError(.unsupported, .parameter, "A forced stop (Force=true) is not supported by this cloud: its guests are always asked to shut down.")
        }
        writeStateChanges(&xml, try await context.cloud.instances.stop(context.principal, ids))
    }

    static func startInstances(_ context: ActionContext, _ xml: inout XMLWriter) async throws {
        let ids = try instanceIDs(context.params, required: true)
        writeStateChanges(&xml, try await context.cloud.instances.start(context.principal, ids))
    }

    static func rebootInstances(_ context: ActionContext, _ xml: inout XMLWriter) async throws {
        let ids = try instanceIDs(context.params, required: true)
        try await context.cloud.instances.reboot(context.principal, ids)
        xml.leaf("return", true)
    }

    static func getConsoleOutput(_ context: ActionContext, _ xml: inout XMLWriter) async throws {
        let text = try context.params.required("InstanceId")
        let id = try InstanceID(validating: text)
        // The output is always the latest the node has.
        _ = try context.params.boolean("Latest")
        let console = try await context.cloud.instances.consoleOutput(context.principal, id)
        xml.leaf("instanceId", id.rawValue)
        xml.leaf("timestamp", EC2Time.format(console.timestamp))
        xml.leaf("output", console.output.base64EncodedString())
    }
}

/// What EC2 shows of every instance of this cloud that its record does not hold: one platform,
/// one root device, one network interface derived from the instance's own id.
enum InstanceFacts {
    static let hypervisor = "xen"
    static let platformDetails = "Linux/UNIX"
    static let usageOperation = "RunInstances"
    /// Instance-store images boot from their first disk, which EC2 names /dev/sda1.
    static let rootDeviceName = "/dev/sda1"

    /// The facts above as DescribeInstances writes them, each run made once.
    static let rootDeviceXML = "<architecture>x86_64</architecture><rootDeviceType>instance-store</rootDeviceType>"
        + "<rootDeviceName>\(rootDeviceName)</rootDeviceName><blockDeviceMapping></blockDeviceMapping>"
    static let imageRootDeviceXML = "<rootDeviceType>instance-store</rootDeviceType>"
        + "<rootDeviceName>\(rootDeviceName)</rootDeviceName><blockDeviceMapping></blockDeviceMapping>"
    static let hypervisorXML = "<hypervisor>\(hypervisor)</hypervisor>"
    static let platformXML = "<platformDetails>\(platformDetails)</platformDetails><usageOperation>\(usageOperation)</usageOperation>"
    /// The metadata options of an instance that has EC2's defaults (most have).
    static let defaultMetadataXML: String = {
        var xml = XMLWriter(capacity: 256)
        xml.element("metadataOptions") { xml in EC2Actions.writeMetadataOptions(&xml, MetadataOptions(), state: "applied") }
        return xml.text
    }()

    /// An image booted with a kernel of its own is paravirtual; one that boots its disk, hvm.
    static func virtualizationType(_ boot: BootSpec) -> String {
        boot.kernel != nil ? "paravirtual" : "hvm"
    }

    /// `eni-` and the instance id's digits: one interface per instance, found again from it.
    static func interfaceId(_ instance: InstanceRecord) -> String {
        "eni-" + instance.id.rawValue.dropFirst(2)
    }

    static func attachmentId(_ instance: InstanceRecord) -> String {
        "eni-attach-" + instance.id.rawValue.dropFirst(2)
    }
}
