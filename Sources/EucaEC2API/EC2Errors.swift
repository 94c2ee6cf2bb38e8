import EucaCore
import EucaHypervisor

/// An error as EC2 reports it: a code, a message and an HTTP status.
struct EC2Error: Error, Sendable, Hashable {
    var code: String
    var message: String
    var status: Int

    init(_ code: String, _ message: String, status: Int = 400) {
        self.code = code
        self.message = message
        self.status = status
    }

    /// The EC2 error for any error a request can end in. Internal details are logged, not shown.
    init(_ error: any Error) {
        switch error {
        case let error as EC2Error:
            self = error
        case let error as EucaError:
            self.init(mapping: error)
        case is StoreError:
            self.init("InternalError", "An internal error has occurred; the request may be retried.", status: 500)
        case let error as HypervisorError where error.code == .unavailable:
            self.init("Unavailable", "The server is overloaded or a component is unreachable.", status: 503)
        default:
            self.init("InternalError", "An internal error has occurred; the request may be retried.", status: 500)
        }
    }

    private init(mapping error: EucaError) {
        let message = error.message
        switch error.code {
        case .notFound:
            switch error.resource {
            case .instance: self.init("InvalidInstanceID.NotFound", message)
            case .image, .kernel, .ramdisk: self.init("InvalidAMIID.NotFound", message)
            case .keyPair: self.init("InvalidKeyPair.NotFound", message)
            case .reservation: self.init("InvalidReservationID.NotFound", message)
            case .securityGroup: self.init("InvalidGroup.NotFound", message)
            case .address: self.init("InvalidAllocationID.NotFound", message)
            case .publicAddress: self.init("InvalidAddress.NotFound", message)
            case .association: self.init("InvalidAssociationID.NotFound", message)
            case .instanceType: self.init("InvalidInstanceType", message)
            case .permission: self.init("InvalidPermission.NotFound", message)
            default: self.init("InvalidParameterValue", message)
            }
        case .malformedID:
            switch error.resource {
            case .instance: self.init("InvalidInstanceID.Malformed", message)
            case .image: self.init("InvalidAMIID.Malformed", message)
            case .kernel: self.init("InvalidKernelId.Malformed", message)
            case .ramdisk: self.init("InvalidRamDiskID.Malformed", message)
            case .reservation: self.init("InvalidReservationID.Malformed", message)
            case .securityGroup: self.init("InvalidGroupId.Malformed", message)
            case .resource: self.init("InvalidID", message)
            case .address: self.init("InvalidAllocationID.Malformed", message)
            case .account: self.init("InvalidUserID.Malformed", message)
            default: self.init("InvalidParameterValue", message)
            }
        case .duplicate:
            switch error.resource {
            case .keyPair: self.init("InvalidKeyPair.Duplicate", message)
            case .image: self.init("InvalidAMIName.Duplicate", message)
            case .securityGroup: self.init("InvalidGroup.Duplicate", message)
            case .permission: self.init("InvalidPermission.Duplicate", message)
            // An address on another instance, with reassociation refused.
            case .address: self.init("Resource.AlreadyAssociated", message)
            case .privateAddress: self.init("InvalidIPAddress.InUse", message)
            default: self.init("InvalidParameterValue", message)
            }
        case .invalidParameter: self.init("InvalidParameterValue", message)
        case .missingParameter: self.init("MissingParameter", message)
        case .incorrectState:
            switch error.resource {
            case .instance: self.init("IncorrectInstanceState", message)
            case .securityGroup: self.init("InvalidGroup.InUse", message)
            default: self.init("IncorrectState", message)
            }
        case .limitExceeded:
            switch error.resource {
            case .instance: self.init("InstanceLimitExceeded", message)
            case .tag: self.init("TagLimitExceeded", message)
            case .address: self.init("AddressLimitExceeded", message)
            case .securityGroup: self.init("SecurityGroupLimitExceeded", message)
            case .permission: self.init("RulesPerSecurityGroupLimitExceeded", message)
            case .filter: self.init("FilterLimitExceeded", message)
            default: self.init("ResourceLimitExceeded", message)
            }
        case .insufficientCapacity:
            if error.resource == .subnet {
                self.init("InsufficientFreeAddressesInSubnet", message)
            } else {
                self.init("InsufficientInstanceCapacity", message, status: 500)
            }
        case .unsupported: self.init("Unsupported", message)
        case .idempotencyMismatch: self.init("IdempotentParameterMismatch", message)
        case .invalidKeyFormat: self.init("InvalidKey.Format", message)
        case .authFailure: self.init("AuthFailure", message, status: 401)
        case .missingAuthentication: self.init("MissingAuthenticationToken", message, status: 401)
        case .incompleteSignature: self.init("IncompleteSignature", message)
        case .signatureDoesNotMatch: self.init("SignatureDoesNotMatch", message, status: 403)
        case .unauthorized: self.init("UnauthorizedOperation", message, status: 403)
        case .requestExpired: self.init("RequestExpired", message)
        case .operationNotPermitted:
            // The one group no one may delete: each account's (and VPC's) `default`.
            self.init(error.resource == .securityGroup ? "CannotDelete" : "OperationNotPermitted", message)
        case .unavailable: self.init("Unavailable", message, status: 503)
        default: self.init("InternalError", "An internal error has occurred; the request may be retried.", status: 500)
        }
    }

    /// EC2's error document.
    func document(requestId: String) -> String {
        var xml = XMLWriter(capacity: 256)
        xml.element("Response") { xml in
            xml.element("Errors") { xml in
                xml.element("Error") { xml in
                    xml.leaf("Code", code)
                    xml.leaf("Message", message)
                }
            }
            xml.leaf("RequestID", requestId)
        }
        return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" + xml.text
    }
}
