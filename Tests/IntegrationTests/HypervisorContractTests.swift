import EucaCore
import EucaHypervisor
import EucaHypervisorLibvirt
import EucaTesting
import Logging
import Testing

@Suite struct HypervisorContractTests {
    @Test("in-memory hypervisor", arguments: HypervisorContract.cases)
    func inMemory(_ check: HypervisorContract.Case) async throws {
        try await check.run(on: InMemoryHypervisor())
    }

    /// libvirt's own test driver runs inside the client library, so this needs no daemon.
    @Test("libvirt on test:///default", arguments: HypervisorContract.cases)
    func libvirtTestDriver(_ check: HypervisorContract.Case) async throws {
        let hypervisor = try LibvirtHypervisor(uri: "test:///default", logger: Logger(label: "test"))
        try await check.run(on: hypervisor)
    }

    @Test func anUnreachableURIIsUnavailable() {
        #expect {
            try LibvirtHypervisor(uri: "qemu+unix:///system?socket=/nonexistent/euca-test.sock", logger: Logger(label: "test"))
        } throws: { error in
            (error as? HypervisorError)?.code == .unavailable
        }
    }

    @Test func aLaunchTheHypervisorRefusesLeavesNothingBehind() async throws {
        let hypervisor = try LibvirtHypervisor(uri: "test:///default", domainType: "no-such-type", logger: Logger(label: "test"))
        let spec = DomainSpec(instanceId: .generate(), vcpus: 1, memoryMiB: 64, macAddress: "d0:0d:00:00:00:02")
        await #expect(throws: HypervisorError.self) { try await hypervisor.launch(spec) }
        #expect(try await hypervisor.state(of: spec.instanceId) == nil)
    }
}
