/// An identifier in EC2's form: a short prefix, a dash and lowercase hex digits (`i-0123456789abcdef0`).
///
/// New identifiers have 17 hex digits; identifiers with 8 digits, as older EC2 and Eucalyptus
/// issued, are accepted when parsed.
public protocol ResourceIdentifier: RawRepresentable, Hashable, Comparable, Sendable, Codable,
    CustomStringConvertible where RawValue == String
{
    /// The prefix before the dash, such as `i` or `ami`.
    static var prefix: String { get }
    /// The resource kind named in errors about this identifier.
    static var kind: ResourceKind { get }
    init(rawValue: String)
}

extension ResourceIdentifier {
    /// A new random identifier with 17 hex digits.
    public static func generate() -> Self {
        var rng = SystemRandomNumberGenerator()
        return generate(using: &rng)
    }

    /// A new identifier drawn from `generator`, for reproducible simulations.
    public static func generate(using generator: inout some RandomNumberGenerator) -> Self {
        let digits = Array("0123456789abcdef".utf8)
        var bytes = Array(prefix.utf8)
        bytes.append(UInt8(ascii: "-"))
        for _ in 0..<17 { bytes.append(digits[Int(generator.next() & 0xF)]) }
        return Self(rawValue: String(decoding: bytes, as: UTF8.self))
    }

    /// Parses `text`, or returns nil if it is not `prefix-` followed by 8 or 17 lowercase hex digits.
    public init?(parsing text: String) {
        guard Self.isWellFormed(text) else { return nil }
        self.init(rawValue: text)
    }

    /// Parses `text` or throws a `malformedID` error naming it.
    public init(validating text: String) throws(EucaError) {
        guard let id = Self(parsing: text) else {
            throw EucaError(.malformedID, Self.kind, "Invalid id: \"\(text)\"")
        }
        self = id
    }

    public static func isWellFormed(_ text: String) -> Bool {
        EC2IDShape.matches(text, prefix: prefix)
    }

    public var description: String { rawValue }
    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// The shape every EC2-style identifier has, whatever its type: a prefix, a dash, and 8 or 17
/// lowercase hex digits. Checked before an identifier from a request goes anywhere near the store.
public enum EC2IDShape {
    /// Whether `text` is `prefix-` followed by 8 or 17 lowercase hex digits.
    public static func matches(_ text: String, prefix: String) -> Bool {
        let utf8 = text.utf8
        let p = prefix.utf8
        guard utf8.count == p.count + 1 + 17 || utf8.count == p.count + 1 + 8 else { return false }
        guard utf8.starts(with: p) else { return false }
        var index = utf8.index(utf8.startIndex, offsetBy: p.count)
        guard utf8[index] == UInt8(ascii: "-") else { return false }
        index = utf8.index(after: index)
        return utf8[index...].allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
    }

    /// Whether `text` is an IPv4 address in dotted-quad form (`192.0.2.10`).
    public static func isIPv4(_ text: String) -> Bool {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return false }
        return parts.allSatisfy { part in
            (1...3).contains(part.utf8.count) && part.utf8.allSatisfy { (0x30...0x39).contains($0) }
                && (part.utf8.count == 1 || part.utf8.first != 0x30) && Int(part)! <= 255
        }
    }
}

public struct InstanceID: ResourceIdentifier {
    public static let prefix = "i"
    public static let kind = ResourceKind.instance
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
}

public struct ReservationID: ResourceIdentifier {
    public static let prefix = "r"
    public static let kind = ResourceKind.reservation
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
}

public struct KeyPairID: ResourceIdentifier {
    public static let prefix = "key"
    public static let kind = ResourceKind.keyPair
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
}

public struct SecurityGroupID: ResourceIdentifier {
    public static let prefix = "sg"
    public static let kind = ResourceKind.securityGroup
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
}

/// An image identifier: a machine image (`ami-`), a kernel (`aki-`) or a ramdisk (`ari-`).
public struct ImageID: RawRepresentable, Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }

    /// A new random identifier of the given kind.
    public static func generate(_ kind: ImageKind) -> ImageID {
        switch kind {
        case .machine: ImageID(rawValue: MachineImageID.generate().rawValue)
        case .kernel: ImageID(rawValue: KernelImageID.generate().rawValue)
        case .ramdisk: ImageID(rawValue: RamdiskImageID.generate().rawValue)
        }
    }

    /// Parses an image id of any of the three kinds.
    public init?(parsing text: String) {
        guard Self.kind(of: text) != nil else { return nil }
        self.rawValue = text
    }

    /// The kind of image the id's prefix names, or nil if it is not an image id.
    public static func kind(of text: String) -> ImageKind? {
        if MachineImageID.isWellFormed(text) { return .machine }
        if KernelImageID.isWellFormed(text) { return .kernel }
        if RamdiskImageID.isWellFormed(text) { return .ramdisk }
        return nil
    }

    public var kind: ImageKind { Self.kind(of: rawValue) ?? .machine }
    public var description: String { rawValue }
    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// What an image holds.
public enum ImageKind: String, Sendable, Codable, Hashable, CaseIterable {
    case machine, kernel, ramdisk

    /// EC2's name for the kind, as in the `imageType` field.
    public var ec2Name: String { self.rawValue }
    public var resourceKind: ResourceKind {
        switch self {
        case .machine: .image
        case .kernel: .kernel
        case .ramdisk: .ramdisk
        }
    }
}

struct MachineImageID: ResourceIdentifier {
    static let prefix = "ami"
    static let kind = ResourceKind.image
    let rawValue: String
    init(rawValue: String) { self.rawValue = rawValue }
}

struct KernelImageID: ResourceIdentifier {
    static let prefix = "aki"
    static let kind = ResourceKind.kernel
    let rawValue: String
    init(rawValue: String) { self.rawValue = rawValue }
}

struct RamdiskImageID: ResourceIdentifier {
    static let prefix = "ari"
    static let kind = ResourceKind.ramdisk
    let rawValue: String
    init(rawValue: String) { self.rawValue = rawValue }
}

/// A 12-digit account number, as EC2 shows in `ownerId`.
public struct AccountID: RawRepresentable, Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }

    /// Parses a 12-digit account number, or returns nil.
    public init?(parsing text: String) {
        guard text.utf8.count == 12, text.utf8.allSatisfy({ (0x30...0x39).contains($0) }) else { return nil }
        self.rawValue = text
    }

    /// A new random 12-digit account number.
    public static func generate() -> AccountID {
        var rng = SystemRandomNumberGenerator()
        let digits = (0..<12).map { index in
            // The first digit is never 0, so the number keeps its width wherever it is printed.
            String(index == 0 ? Int.random(in: 1...9, using: &rng) : Int.random(in: 0...9, using: &rng))
        }
        return AccountID(rawValue: digits.joined())
    }

    public var description: String { rawValue }
    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }
}
