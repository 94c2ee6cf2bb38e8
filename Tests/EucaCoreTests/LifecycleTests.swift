import EucaCore
import Testing

@Suite struct InstanceLifecycleTests {
    let id = InstanceID.generate()

    @Test func codesAreEC2s() {
        #expect(InstanceState.allCases.map(\.code) == [0, 16, 32, 48, 64, 80])
        #expect(InstanceState.shuttingDown.name == "shutting-down")
    }

    @Test("legal requests", arguments: [
        (InstanceRequest.terminate, InstanceState.running, InstanceState.shuttingDown),
        (.terminate, .pending, .shuttingDown),
        (.terminate, .stopped, .shuttingDown),
        (.terminate, .terminated, .terminated),
        (.stop, .running, .stopping),
        (.stop, .stopped, .stopped),
        (.start, .stopped, .pending),
        (.start, .running, .running),
        (.reboot, .running, .running),
    ])
    func legal(_ request: InstanceRequest, _ from: InstanceState, _ to: InstanceState) throws {
        #expect(try InstanceLifecycle.apply(request, to: from, id: id) == to)
    }

    @Test("illegal requests are IncorrectInstanceState", arguments: [
        (InstanceRequest.stop, InstanceState.pending),
        (.stop, .terminated),
        (.stop, .shuttingDown),
        (.start, .stopping),
        (.start, .terminated),
        (.start, .shuttingDown),
        (.reboot, .stopped),
        (.reboot, .pending),
        (.reboot, .terminated),
    ])
    func illegal(_ request: InstanceRequest, _ from: InstanceState) {
        #expect {
            try InstanceLifecycle.apply(request, to: from, id: id)
        } throws: { error in
            (error as? EucaError)?.code == .incorrectState && (error as? EucaError)?.message.contains(id.rawValue) == true
        }
    }

    @Test func observationsMoveDesiredStateToActual() {
        #expect(InstanceLifecycle.reconcile(.pending, with: .running) == .running)
        #expect(InstanceLifecycle.reconcile(.pending, with: .absent) == nil)
        #expect(InstanceLifecycle.reconcile(.running, with: .absent) == .terminated)
        #expect(InstanceLifecycle.reconcile(.running, with: .shutoff, behavior: .stop) == .stopped)
        #expect(InstanceLifecycle.reconcile(.running, with: .shutoff, behavior: .terminate) == .shuttingDown)
        #expect(InstanceLifecycle.reconcile(.stopping, with: .shutoff) == .stopped)
        #expect(InstanceLifecycle.reconcile(.shuttingDown, with: .absent) == .terminated)
        #expect(InstanceLifecycle.reconcile(.shuttingDown, with: .running) == nil)
        #expect(InstanceLifecycle.reconcile(.terminated, with: .running) == nil)
        #expect(InstanceLifecycle.reconcile(.stopped, with: .absent) == nil)
    }
}

@Suite struct IdentifierTests {
    @Test func generatedIDsHaveEC2sForm() {
        let id = InstanceID.generate()
        #expect(id.rawValue.count == 19)
        #expect(id.rawValue.hasPrefix("i-"))
        #expect(InstanceID(parsing: id.rawValue) == id)
        #expect(ReservationID.generate().rawValue.hasPrefix("r-"))
        #expect(KeyPairID.generate().rawValue.hasPrefix("key-"))
        #expect(SecurityGroupID.generate().rawValue.hasPrefix("sg-"))
        #expect(ImageID.generate(.machine).rawValue.hasPrefix("ami-"))
        #expect(ImageID.generate(.kernel).rawValue.hasPrefix("aki-"))
        #expect(ImageID.generate(.ramdisk).rawValue.hasPrefix("ari-"))
        #expect(AccountID.generate().rawValue.count == 12)
    }

    @Test("malformed ids are refused", arguments: ["i-xyz", "i-", "i-0123456789abcdef", "I-0123456789abcdef0", "i-0123456789ABCDEF0", "ami-12345678", "i-1234567g"])
    func malformed(_ text: String) {
        #expect(InstanceID(parsing: text) == nil)
    }

    @Test func legacyEightDigitIDsAreAccepted() {
        #expect(InstanceID(parsing: "i-12345678") != nil)
        #expect(ImageID.kind(of: "aki-1234abcd") == .kernel)
        #expect(ImageID.kind(of: "emi-1234abcd") == nil)
    }
}

@Suite struct VMTypeTests {
    @Test func eucalyptusDefaults() {
        let names = VMTypeCatalog.eucalyptusDefaults.types.map(\.name)
        #expect(Set(names) == ["m1.small", "c1.medium", "m1.large", "m1.xlarge", "c1.xlarge"])
        #expect(VMTypeCatalog.eucalyptusDefaults["m1.small"]?.cores == 1)
    }

    @Test func overridesReplaceAndAdd() throws {
        let catalog = try VMTypeCatalog.eucalyptusDefaults.applying(setting: "m1.small:2:512:10, t1.micro:1:64:1").get()
        #expect(catalog["m1.small"] == VMType(name: "m1.small", cores: 2, memoryMiB: 512, diskGiB: 10))
        #expect(catalog["t1.micro"]?.memoryMiB == 64)
        #expect(catalog.types.count == 6)
    }

    @Test func entriesRemoveTypesByNameOrFamilyAndNeverAll() throws {
        let standard = VMTypeCatalog.standard
        #expect(standard["t3.micro"] == VMType(name: "t3.micro", cores: 2, memoryMiB: 1024, diskGiB: 8))
        #expect(standard["m1.small"] == VMTypeCatalog.eucalyptusDefaults["m1.small"])
        let trimmed = try standard.applying(setting: "-t2.*, -m5.large, t1.micro:1:64:1").get()
        #expect(trimmed.types.allSatisfy { !$0.name.hasPrefix("t2.") } && trimmed["m5.large"] == nil)
        #expect(trimmed["m5.xlarge"] != nil && trimmed["t1.micro"] != nil)
        #expect(trimmed.types.count == standard.types.count - 7 - 1 + 1)
        guard case .failure(let nothing) = standard.applying(setting: "-x9.*") else {
            Issue.record("accepted a removal of nothing")
            return
        }
        #expect(nothing.message.contains("-x9.*"))
        let everything = standard.types.map { "-\($0.name)" }.joined(separator: ",")
        guard case .failure = standard.applying(setting: everything) else {
            Issue.record("accepted a catalog with no type left")
            return
        }
    }

    @Test func badOverridesNameTheEntry() {
        guard case .failure(let problem) = VMTypeCatalog.eucalyptusDefaults.applying(setting: "m1.small:x:1:1") else {
            Issue.record("accepted a bad entry")
            return
        }
        #expect(problem.message.contains("m1.small:x:1:1"))
    }
}
