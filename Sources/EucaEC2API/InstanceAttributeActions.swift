import EucaCloud
import EucaCore
import Foundation

/// Instance attributes, status and metadata options, and the account's attributes.
extension EC2Actions {
    static let instanceAttributeActions: [String: EC2Action] = [
        "DescribeInstanceAttribute": EC2Action(
            run: describeInstanceAttribute, limits: "sourceDestCheck, sriovNetSupport, enaSupport, productCodes, enclaveOptions"),
        "ModifyInstanceAttribute": EC2Action(
            run: modifyInstanceAttribute, limits: "kernel, ramdisk, sourceDestCheck, block devices, ebsOptimized, SR-IOV, ENA"),
        "DescribeInstanceStatus": EC2Action(run: describeInstanceStatus),
        "ModifyInstanceMetadataOptions": EC2Action(
            run: modifyInstanceMetadataOptions, limits: "HttpProtocolIpv6 and InstanceMetadataTags stay disabled"),
        "DescribeAccountAttributes": EC2Action(run: describeAccountAttributes),
    ]

    // MARK: - Instance metadata options

    /// Reads `prefix`HttpTokens, HttpEndpoint and HttpPutResponseHopLimit; IPv6 and tags in the
    /// metadata service are refused rather than ignored.
    static func metadataOptionParameters(_ params: QueryParameters, prefix: String) throws -> (tokens: String?, endpoint: String?, hopLimit: Int?) {
        if params["\(prefix)HttpProtocolIpv6"] == "enabled" {
            throw EucaError(.unsupported, .parameter, "The metadata service has no IPv6 endpoint in this cloud.")
        }
        if params["\(prefix)InstanceMetadataTags"] == "enabled" {
            throw EucaError(.unsupported, .parameter, "Instance tags in the metadata service are not supported by this cloud.")
        }
        return (params["\(prefix)HttpTokens"], params["\(prefix)HttpEndpoint"], try params.integer("\(prefix)HttpPutResponseHopLimit"))
    }

    static func modifyInstanceMetadataOptions(_ context: ActionContext, _ xml: inout XMLWriter) async throws {
        let id = try InstanceID(validating: try context.params.required("InstanceId"))
        let parameters = try metadataOptionParameters(context.params, prefix: "")
        let options = try await context.cloud.instances.modifyMetadataOptions(
            context.principal, id, httpTokens: parameters.tokens, httpEndpoint: parameters.endpoint, hopLimit: parameters.hopLimit)
        xml.leaf("instanceId", id.rawValue)
        xml.element("instanceMetadataOptions") { xml in writeMetadataOptions(&xml, options, state: "pending") }
    }

    static func writeMetadataOptions(_ xml: inout XMLWriter, _ options: MetadataOptions, state: String) {
        xml.leaf("state", state)
        xml.leaf("httpTokens", options.httpTokens)
        xml.leaf("httpPutResponseHopLimit", options.httpPutResponseHopLimit)
        xml.leaf("httpEndpoint", options.httpEndpoint)
        xml.leaf("httpProtocolIpv6", "disabled")
        xml.leaf("instanceMetadataTags", "disabled")
    }

    // MARK: - Instance attributes and status

    static func describeInstanceAttribute(_ context: ActionContext, _ xml: inout XMLWriter) async throws {
        let id = try InstanceID(validating: try context.params.required("InstanceId"))
        let attribute = try context.params.required("Attribute")
        guard let instance = try context.cloud.instances.owned([id], for: context.principal).first else { return }
        xml.leaf("instanceId", id.rawValue)
        func value(_ name: String, _ text: String?) {
            xml.element(name) { xml in
                if let text { xml.leaf("value", text) }
            }
        }
        switch attribute {
        case "instanceType": value("instanceType", instance.vmType.name)
        case "kernel": value("kernel", instance.kernelId?.rawValue)
        case "ramdisk": value("ramdisk", instance.ramdiskId?.rawValue)
        case "userData": value("userData", instance.userData?.base64EncodedString())
        case "disableApiTermination": value("disableApiTermination", instance.terminationProtected ? "true" : "false")
        case "instanceInitiatedShutdownBehavior": value("instanceInitiatedShutdownBehavior", instance.shutdownBehavior.rawValue)
        case "rootDeviceName": value("rootDeviceName", InstanceFacts.rootDeviceName)
        case "blockDeviceMapping":
            xml.open("blockDeviceMapping")
            xml.close("blockDeviceMapping")
        case "groupSet": writeGroupSet(&xml, instance.groups, modern: true)
        case "ebsOptimized": value("ebsOptimized", "false")
        case "disableApiStop": value("disableApiStop", instance.stopProtected == true ? "true" : "false")
        // Every instance's interface checks sources and destinations (EC2's default).
        case "sourceDestCheck": value("sourceDestCheck", "true")
        case "sriovNetSupport", "enaSupport", "productCodes", "enclaveOptions":
            throw EucaError(.unsupported, .parameter, "The attribute \(attribute) is not supported by this cloud.")
        default:
            throw EucaError(.invalidParameter, .parameter, "Value (\(attribute)) for parameter attribute is invalid.")
        }
    }

    static func modifyInstanceAttribute(_ context: ActionContext, _ xml: inout XMLWriter) async throws {
        let params = context.params
        let id = try InstanceID(validating: try params.required("InstanceId"))
        // Either the structured form (InstanceType.Value, …) or the older Attribute + Value form.
        var changes: [InstanceAttributeChange] = []
        func boolean(_ text: String) throws(EucaError) -> Bool {
            switch text.lowercased() {
            case "true": return true
            case "false": return false
            default: throw EucaError(.invalidParameter, .parameter, "Value (\(text)) is invalid. Expected 'true' or 'false'.")
            }
        }
        func userData(_ text: String) throws -> Data {
            guard let data = Data(base64Encoded: text, options: .ignoreUnknownCharacters) else {
                throw EC2Error("InvalidUserData.Malformed", "Invalid BASE64 encoding of user data.")
            }
            return data
        }
        func behavior(_ text: String) throws(EucaError) -> ShutdownBehavior {
            guard let value = ShutdownBehavior(rawValue: text) else {
                throw EucaError(.invalidParameter, .parameter, "Value (\(text)) for instanceInitiatedShutdownBehavior is invalid.")
            }
            return value
        }
        if let value = params["InstanceType.Value"] { changes.append(.instanceType(value)) }
        if let value = params["UserData.Value"] { changes.append(.userData(try userData(value))) }
        if let value = params["DisableApiTermination.Value"] { changes.append(.terminationProtection(try boolean(value))) }
        if let value = params["DisableApiStop.Value"] { changes.append(.stopProtection(try boolean(value))) }
        if let value = params["InstanceInitiatedShutdownBehavior.Value"] { changes.append(.shutdownBehavior(try behavior(value))) }
        let groups = params.list("GroupId")
        if !groups.isEmpty { changes.append(.groups(groups)) }
        if let attribute = params["Attribute"] {
            let value = params["Value"] ?? ""
            switch attribute {
            case "instanceType": changes.append(.instanceType(value))
            case "userData": changes.append(.userData(try userData(value)))
            case "disableApiTermination": changes.append(.terminationProtection(try boolean(value)))
            case "disableApiStop": changes.append(.stopProtection(try boolean(value)))
            case "instanceInitiatedShutdownBehavior": changes.append(.shutdownBehavior(try behavior(value)))
            case "kernel", "ramdisk", "sourceDestCheck", "blockDeviceMapping", "ebsOptimized", "sriovNetSupport", "enaSupport":
                throw EucaError(.unsupported, .parameter, "Changing \(attribute) is not supported by this cloud.")
            default:
                throw EucaError(.invalidParameter, .parameter, "Value (\(attribute)) for parameter attribute is invalid.")
            }
        }
        guard changes.count == 1 else {
            throw EucaError(
                changes.isEmpty ? .missingParameter : .invalidParameter, .parameter,
                changes.isEmpty ? "The request must name one attribute to change." : "Only one attribute can be changed per request.")
        }
        try await context.cloud.instances.modify(context.principal, id, changes[0])
        xml.leaf("return", true)
    }

    static let statusFilters = FilterSet<(instance: InstanceRecord, health: InstanceHealth)>("DescribeInstanceStatus", fields: [
        "availability-zone": { [$0.instance.zone] },
        "instance-state-name": { [$0.instance.state.name] },
        "instance-state-code": { [String($0.instance.state.code)] },
        "instance-status.status": { [$0.health.rawValue] },
        "system-status.status": { [$0.health.rawValue] },
        "instance-status.reachability": { [reachability($0.health)] },
        "system-status.reachability": { [reachability($0.health)] },
    ])

    /// A reachability detail's status, one of EC2's `StatusType` values.
    static func reachability(_ health: InstanceHealth) -> String {
        switch health {
        case .ok: "passed"
        case .impaired: "failed"
        case .initializing: "initializing"
        case .notApplicable: "insufficient-data"
        }
    }

    static func describeInstanceStatus(_ context: ActionContext, _ xml: inout XMLWriter) async throws {
        let ids = try instanceIDs(context.params, required: false)
        let includeAll = try context.params.boolean("IncludeAllInstances") ?? false
        let paging = try Paging(context.params, range: 5...1000)
        if paging.maxResults != nil && !ids.isEmpty {
            throw EC2Error("InvalidParameterCombination", "The parameter InstanceId cannot be used with the parameter MaxResults.")
        }
        let filter = try statusFilters.compile(try context.params.filters())
        let candidates = ids.isEmpty
            ? context.cloud.instances.reservations(for: context.principal).flatMap(\.1)
            : try context.cloud.instances.owned(ids, for: context.principal)
        let rows = candidates
            .filter { includeAll || $0.state == .running }
            .map { (instance: $0, health: context.cloud.instances.health(of: $0)) }
            .filter(filter.matches)
            .sorted { $0.instance.id < $1.instance.id }
        let page = paging.page(rows) { $0.instance.id.rawValue }
        xml.set("instanceStatusSet", page.items) { xml, row in
            xml.leaf("instanceId", row.instance.id.rawValue)
            xml.leaf("availabilityZone", row.instance.zone)
            xml.element("instanceState") { xml in
                xml.leaf("code", row.instance.state.code)
                xml.leaf("name", row.instance.state.name)
            }
            for name in ["systemStatus", "instanceStatus"] {
                xml.element(name) { xml in
                    xml.leaf("status", row.health.rawValue)
                    xml.set("details", [row.health]) { xml, health in
                        xml.leaf("name", "reachability")
                        xml.leaf("status", reachability(health))
                    }
                }
            }
            xml.open("eventsSet")
            xml.close("eventsSet")
        }
        xml.leaf("nextToken", ifPresent: page.nextToken)
    }

    // MARK: - Account attributes

    static func describeAccountAttributes(_ context: ActionContext, _ xml: inout XMLWriter) async throws {
        let all: [(String, [String])] = [
            // EC2-Classic's platform and a default VPC, as accounts made before December 2013 had.
            ("supported-platforms", ["EC2", "VPC"]),
            ("default-vpc", [VPCService.vpcId(of: context.principal.accountId)]),
            ("max-instances", [String(await context.cloud.instances.maximum())]),
            ("max-elastic-ips", [String(context.cloud.addresses.poolSize)]),
            ("vpc-max-elastic-ips", ["0"]),
            ("vpc-max-security-groups-per-interface", ["0"]),
        ]
        let names = context.params.list("AttributeName")
        for name in names where !all.contains(where: { $0.0 == name }) {
            throw EucaError(.invalidParameter, .parameter, "Value (\(name)) for parameter attributeName is invalid.")
        }
        xml.set("accountAttributeSet", all.filter { names.isEmpty || names.contains($0.0) }) { xml, attribute in
            xml.leaf("attributeName", attribute.0)
            xml.set("attributeValueSet", attribute.1) { xml, value in xml.leaf("attributeValue", value) }
        }
    }
}
