import EucaCloud
import EucaCore
import Foundation

extension EC2Actions {
    static let imageActions: [String: EC2Action] = [
        "RegisterImage": EC2Action(run: registerImage, authorize: { context in
            if let location = context.params["ImageLocation"], !context.principal.isCloudAdmin,
                context.cloud.images.registrationNeedsAdmin(location, for: context.principal)
            {
                throw EucaError(.unauthorized, .image, "Only the cloud's administrators register kernels and ramdisks.")
            }
        }, limits: "image-store locations only: no EBS snapshots or block device mappings"),
        "DeregisterImage": EC2Action(run: deregisterImage, authorize: ownsImage),
        "DescribeImageAttribute": EC2Action(run: describeImageAttribute),
        "ModifyImageAttribute": EC2Action(run: modifyImageAttribute, authorize: ownsImage, limits: "product codes"),
        "ResetImageAttribute": EC2Action(run: resetImageAttribute, authorize: ownsImage),
    ]

    @Sendable static func ownsImage(_ context: ActionContext) throws {
        if let id = context.params["ImageId"] { _ = try context.cloud.images.visibleOwnedCheck(id, context.principal) }
    }

    static func registerImage(_ context: ActionContext, _ xml: inout XMLWriter) async throws {
        let params = context.params
        if params.values.keys.contains(where: { $0.hasPrefix("BlockDeviceMapping.") }) && params["ImageLocation"] == nil {
            throw EucaError(.unsupported, .image, "Registering EBS-backed images (BlockDeviceMapping) is not supported by this cloud.")
        }
        let location = try params.required("ImageLocation")
        let tags = try params.tagSpecifications(allowed: [.image])[.image] ?? []
        let image = try await context.cloud.images.register(context.principal, ImageRegistration(
            name: try params.required("Name"), description: params["Description"], architecture: params["Architecture"] ?? "x86_64",
            location: location, kernelId: params["KernelId"], ramdiskId: params["RamdiskId"], tags: tags))
        xml.leaf("imageId", image.id.rawValue)
    }

    static func deregisterImage(_ context: ActionContext, _ xml: inout XMLWriter) async throws {
        try await context.cloud.images.deregister(context.principal, try context.params.required("ImageId"))
        xml.leaf("return", true)
    }

    static func describeImageAttribute(_ context: ActionContext, _ xml: inout XMLWriter) async throws {
        let text = try context.params.required("ImageId")
        let attribute = try context.params.required("Attribute")
        let image = try context.cloud.images.visible(text, context.principal)
        xml.leaf("imageId", image.id.rawValue)
        func value(_ name: String, _ text: String?) {
            xml.element(name) { xml in if let text { xml.leaf("value", text) } }
        }
        switch attribute {
        case "description": value("description", image.description)
        case "kernel": value("kernel", image.kernelId?.rawValue)
        case "ramdisk": value("ramdisk", image.ramdiskId?.rawValue)
        case "launchPermission":
            guard image.ownerId == context.principal.accountId else {
                throw EucaError(.unauthorized, .image, "Only the owner of \(text) may see its launch permissions.")
            }
            xml.open("launchPermission")
            if image.isPublic {
                xml.open("item")
                xml.leaf("group", "all")
                xml.close("item")
            }
            for user in image.launchUsers {
                xml.open("item")
                xml.leaf("userId", user.rawValue)
                xml.close("item")
            }
            xml.close("launchPermission")
        case "productCodes", "blockDeviceMapping":
            xml.open(attribute)
            xml.close(attribute)
        case "sriovNetSupport", "bootMode", "tpmSupport", "uefiData", "lastLaunchedTime", "imdsSupport", "deregistrationProtection":
            throw EucaError(.unsupported, .parameter, "The attribute \(attribute) is not supported by this cloud.")
        default:
            throw EucaError(.invalidParameter, .parameter, "Value (\(attribute)) for parameter attribute is invalid.")
        }
    }

    /// A launch permission's user (an account id: 12 digits) or group (`all`, the only one).
    static func itemValue(_ value: String, userId: Bool) throws(EC2Error) -> String {
        let valid = userId ? value.utf8.count == 12 && value.utf8.allSatisfy { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") } : value == "all"
        guard valid else {
            throw EC2Error("InvalidAMIAttributeItemValue", "Invalid attribute item value \"\(value.prefix(64))\" for \(userId ? "userId" : "group") item type.")
        }
        return value
    }

    /// Launch permission changes in the `LaunchPermission.Add/Remove.N.UserId|Group` form or the
    /// older `OperationType` + `UserId.N` / `UserGroup.N` form.
    static func launchPermissionChanges(_ params: QueryParameters) throws -> [ImageAttributeChange] {
        var changes: [ImageAttributeChange] = []
        for (operation, add) in [("Add", true), ("Remove", false)] {
            var users: [String] = []
            var all = false
            for index in params.indices("LaunchPermission.\(operation)") {
                let base = "LaunchPermission.\(operation).\(index)"
                if let user = params["\(base).UserId"] { users.append(try itemValue(user, userId: true)) }
                if let group = params["\(base).Group"] {
                    all = try itemValue(group, userId: false) == "all"
                }
            }
            if !users.isEmpty || all {
                changes.append(add ? .addLaunchPermission(users: users, all: all) : .removeLaunchPermission(users: users, all: all))
            }
        }
        if let operation = params["OperationType"] {
            let users = try params.list("UserId").map { try itemValue($0, userId: true) }
            let groups = try params.list("UserGroup").map { try itemValue($0, userId: false) }
            switch operation {
            case "add": changes.append(.addLaunchPermission(users: users, all: !groups.isEmpty))
            case "remove": changes.append(.removeLaunchPermission(users: users, all: !groups.isEmpty))
            default: throw EucaError(.invalidParameter, .parameter, "Value (\(operation)) for parameter OperationType is invalid.")
            }
        }
        return changes
    }

    static func modifyImageAttribute(_ context: ActionContext, _ xml: inout XMLWriter) async throws {
        let params = context.params
        let id = try params.required("ImageId")
        var changes = try launchPermissionChanges(params)
        if let text = params["Description.Value"] { changes.append(.description(text)) }
        if let text = params["Kernel.Value"] { changes.append(.kernel(text)) }
        if let text = params["Ramdisk.Value"] { changes.append(.ramdisk(text)) }
        if let attribute = params["Attribute"], params["OperationType"] == nil {
            let value = params["Value"] ?? ""
            switch attribute {
            case "description": changes.append(.description(value))
            case "kernel": changes.append(.kernel(value))
            case "ramdisk": changes.append(.ramdisk(value))
            case "launchPermission": break
            case "productCodes": throw EucaError(.unsupported, .parameter, "Product codes are not supported by this cloud.")
            default: throw EucaError(.invalidParameter, .parameter, "Value (\(attribute)) for parameter attribute is invalid.")
            }
        }
        if params.values.keys.contains(where: { $0.hasPrefix("ProductCode.") }) {
            throw EucaError(.unsupported, .parameter, "Product codes are not supported by this cloud.")
        }
        guard !changes.isEmpty else { throw EucaError(.missingParameter, .parameter, "The request must name an attribute to change.") }
        for change in changes { try await context.cloud.images.modify(context.principal, id, change) }
        xml.leaf("return", true)
    }

    static func resetImageAttribute(_ context: ActionContext, _ xml: inout XMLWriter) async throws {
        let id = try context.params.required("ImageId")
        let change: ImageAttributeChange = switch try context.params.required("Attribute") {
        case "launchPermission": .resetLaunchPermission
        case "kernel": .resetKernel
        case "ramdisk": .resetRamdisk
        case let other: throw EucaError(.invalidParameter, .parameter, "Value (\(other)) for parameter attribute is invalid.")
        }
        try await context.cloud.images.modify(context.principal, id, change)
        xml.leaf("return", true)
    }
}
