import EucaCore
public import EucaHypervisor

/// The behaviour every ``Hypervisor`` must have, as named cases run against each backend.
///
/// Each case creates its own instance ids, so cases may share one hypervisor.
public enum HypervisorContract {
    public struct Case: Sendable, CustomStringConvertible {
        public let name: String
        let body: @Sendable (any Hypervisor) async throws -> Void
        public var description: String { name }
        public func run(on hypervisor: any Hypervisor) async throws { try await body(hypervisor) }
    }

    static func spec(_ id: InstanceID = .generate()) -> DomainSpec {
        DomainSpec(instanceId: id, vcpus: 1, memoryMiB: 64, macAddress: "d0:0d:00:00:00:01")
    }

    static func expect(_ condition: Bool, _ check: String, _ detail: @autoclosure () -> String) throws {
        if !condition { throw ContractViolation(check: check, detail: detail()) }
    }

    public static let cases: [Case] = [
        Case(name: "launch runs the domain, and launching again changes nothing") { hypervisor in
            let spec = spec()
            try await hypervisor.launch(spec)
            try expect(try await hypervisor.state(of: spec.instanceId) == .running, "launch", "not running")
            try await hypervisor.launch(spec)
            let listed = try await hypervisor.list()
            try expect(listed[spec.instanceId] == .running, "relaunch", "\(listed)")
            try await hypervisor.terminate(spec.instanceId)
        },
        Case(name: "terminate removes the domain and is idempotent") { hypervisor in
            let spec = spec()
            try await hypervisor.launch(spec)
            try await hypervisor.terminate(spec.instanceId)
            try expect(try await hypervisor.state(of: spec.instanceId) == nil, "terminate", "domain still there")
            try await hypervisor.terminate(spec.instanceId)
            try await hypervisor.terminate(InstanceID.generate())
        },
        Case(name: "shutdown keeps the definition and start runs it again") { hypervisor in
            let spec = spec()
            try await hypervisor.launch(spec)
            try await hypervisor.shutdown(spec.instanceId, timeout: .seconds(5))
            try expect(try await hypervisor.state(of: spec.instanceId) == .shutoff, "shutdown", "not shut off")
            try await hypervisor.shutdown(spec.instanceId, timeout: .seconds(5))
            try await hypervisor.start(spec)
            try expect(try await hypervisor.state(of: spec.instanceId) == .running, "start", "not running")
            try await hypervisor.terminate(spec.instanceId)
        },
        Case(name: "start defines a domain the hypervisor lost") { hypervisor in
            let spec = spec()
            try await hypervisor.start(spec)
            try expect(try await hypervisor.state(of: spec.instanceId) == .running, "start", "not running")
            try await hypervisor.terminate(spec.instanceId)
        },
        Case(name: "reboot keeps a running domain running; an unknown one is notFound") { hypervisor in
            let spec = spec()
            try await hypervisor.launch(spec)
            try await hypervisor.reboot(spec.instanceId)
            try expect(try await hypervisor.state(of: spec.instanceId) == .running, "reboot", "not running")
            try await hypervisor.terminate(spec.instanceId)
            do {
                try await hypervisor.reboot(spec.instanceId)
                throw ContractViolation(check: "reboot unknown", detail: "no error")
            } catch let error as HypervisorError {
                try expect(error.code == .notFound, "reboot unknown", "\(error)")
            }
        },
        Case(name: "list shows only instance domains, each with its state") { hypervisor in
            let first = spec()
            let second = spec()
            try await hypervisor.launch(first)
            try await hypervisor.launch(second)
            try await hypervisor.shutdown(second.instanceId, timeout: .seconds(5))
            let listed = try await hypervisor.list()
            try expect(listed[first.instanceId] == .running && listed[second.instanceId] == .shutoff, "list", "\(listed)")
            try await hypervisor.terminate(first.instanceId)
            try await hypervisor.terminate(second.instanceId)
        },
        Case(name: "concurrent launches all succeed") { hypervisor in
            let specs = (0..<8).map { _ in spec() }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for spec in specs { group.addTask { try await hypervisor.launch(spec) } }
                try await group.waitForAll()
            }
            let listed = try await hypervisor.list()
            try expect(specs.allSatisfy { listed[$0.instanceId] == .running }, "concurrent launch", "\(listed)")
            for spec in specs { try await hypervisor.terminate(spec.instanceId) }
        },
        Case(name: "the host reports its size") { hypervisor in
            let info = try await hypervisor.hostInfo()
            try expect(info.cores > 0 && info.memoryMiB > 0, "hostInfo", "\(info)")
        },
    ]
}
