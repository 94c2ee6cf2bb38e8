import EucaCore
import EucaNet
import Testing

@Suite struct NetworkModeTests {
    @Test func macAddressesFollowEucalyptusScheme() {
        let id = InstanceID(rawValue: "i-0123abcd45678ef90")
        #expect(MACAddress.forInstance(id) == "d0:0d:01:23:ab:cd")
        #expect(SystemNetworkMode().addresses(for: id) == InstanceAddresses(macAddress: "d0:0d:01:23:ab:cd"))
    }

    @Test func systemAndVPCAreAvailableAndOthersSaySo() throws {
        #expect(try NetworkModes.mode(named: "system").get().name == "SYSTEM")
        let vpc = try NetworkModes.mode(named: "vpc").get()
        #expect(vpc.name == "VPC" && vpc.placesInstancesOnVPC && vpc.plan([]).enforcesRules)
        #expect(!SystemNetworkMode().placesInstancesOnVPC && !SystemNetworkMode().plan([]).enforcesRules)
        guard case .failure(let problem) = NetworkModes.mode(named: "MANAGED-NOVLAN") else {
            Issue.record("MANAGED-NOVLAN was accepted")
            return
        }
        #expect(problem.message.contains("not available") && problem.message.contains("SYSTEM or VPC"))
        guard case .failure = NetworkModes.mode(named: "BRIDGED") else {
            Issue.record("an unknown mode was accepted")
            return
        }
    }

    @Test func publicAddressesAreWrittenPlainly() {
        // A leading zero is octal to `ip` and nftables: 10.0.0.010 would be 10.0.0.8 there.
        for text in ["10.0.0.010", "10.0.0.5-10.0.0.08", "+10.0.0.5"] {
            guard case .failure = AddressPool.parse(text) else {
                Issue.record("\(text) was accepted")
                continue
            }
        }
        #expect((try? AddressPool.parse("10.0.0.0-10.0.0.2").get()) == ["10.0.0.0", "10.0.0.1", "10.0.0.2"])
    }
}
