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
        #expect(!SystemNetworkMode().placesInstancesOnVPC && SystemNetworkMode().plan([]).enforcesRules && SystemNetworkMode().segment == nil)
        guard case .failure(let problem) = NetworkModes.mode(named: "MANAGED") else {
            Issue.record("MANAGED was made without its keys")
            return
        }
        #expect(problem.message.contains("needs VNET_SUBNET"))
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

    /// The configuration `text` (a file's lines) as a mode's settings, or the error naming the key.
    func settings(_ text: String) -> Result<NetworkSettings, ConfigError> {
        do {
            return .success(try NetworkSettings(EucaConfig.parse(text, path: "/etc/euca/eucalyptus.conf")))
        } catch {
            return .failure(error)
        }
    }

    func refusal(_ text: String) -> ConfigError? {
        guard case .failure(let error) = settings(text) else { return nil }
        return error
    }

    @Test func staticAndManagedNoVLANReadTheirKeys() throws {
        let managed = try settings("VNET_MODE=\"MANAGED-NOVLAN\"\nVNET_SUBNET=10.10.0.0\nVNET_NETMASK=255.255.0.0\nVNET_ADDRSPERNET=64\nVNET_PUBLICIPS=\"198.51.100.10-198.51.100.12\"\n").get()
        #expect(managed.mode.name == "MANAGED-NOVLAN" && managed.mode.plan([]).enforcesRules && !managed.mode.placesInstancesOnVPC)
        let segment = try #require(managed.mode.segment)
        #expect(segment.block == "10.10.0.0/16" && segment.gateway == "10.10.0.1" && segment.groupBlockCount == 1024)
        #expect(segment.instanceRange(ofGroupBlock: 1) == 0x0A0A_0042...0x0A0A_007E && segment.groupBlock(of: "10.10.0.127") == 1)
        #expect(managed.publicIPs.count == 3 && !segment.perGroupSegments)
        let segmented = try settings("VNET_MODE=managed\nVNET_SUBNET=10.0.0.0\nVNET_NETMASK=8\nVNET_ADDRSPERNET=16\n").get()
        #expect(segmented.mode.name == "MANAGED" && segmented.mode.segment?.perGroupSegments == true)
        #expect(segmented.mode.segment?.groupBlockCount == 4093, "one block per VLAN tag, 2 to 4094")
        #expect(segmented.mode.segment?.groupBlockCIDR(1) == "10.0.0.16/28" && segmented.mode.segment?.groupBlockCIDR(4093) == nil)
        let fixed = try settings("VNET_MODE=STATIC\nVNET_SUBNET=10.20.0.0\nVNET_NETMASK=24\nVNET_MACMAP=\"D0:0D:AA:00:00:01=10.20.0.2, d0:0d:aa:00:00:02=10.20.0.3\"\n").get()
        #expect(fixed.mode.segment?.assignment == .macMap([
            MACMapEntry(macAddress: "d0:0d:aa:00:00:01", address: "10.20.0.2"), MACMapEntry(macAddress: "d0:0d:aa:00:00:02", address: "10.20.0.3"),
        ]))
    }

    @Test func badValuesAreRefusedNamingTheKeyAndItsLine() throws {
        let managed = "VNET_MODE=MANAGED-NOVLAN\nVNET_SUBNET=10.10.0.0\nVNET_NETMASK=255.255.0.0\n"
        let cases: [(String, String, String)] = [
            ("VNET_MODE=MANAGED-NOVLAN\nVNET_SUBNET=10.10.0.0\n", "VNET_NETMASK", "is needed"),
            (managed + "VNET_ADDRSPERNET=48\n", "VNET_ADDRSPERNET", "power of two"),
            (managed + "VNET_ADDRSPERNET=4\n", "VNET_ADDRSPERNET", "too small"),
            (managed + "VNET_PUBLICIPS=10.10.3.1-10.10.3.4\n", "VNET_PUBLICIPS", "inside 10.10.0.0/16"),
            ("VNET_MODE=MANAGED-NOVLAN\nVNET_SUBNET=169.254.0.0\nVNET_NETMASK=255.255.0.0\n", "VNET_SUBNET", "overlaps 169.254.0.0/16"),
            ("VNET_MODE=MANAGED-NOVLAN\nVNET_SUBNET=10.10.1.0\nVNET_NETMASK=255.255.0.0\n", "VNET_SUBNET", "not a network address"),
            ("VNET_MODE=MANAGED-NOVLAN\nVNET_SUBNET=10.10.0.0\nVNET_NETMASK=255.0.255.0\n", "VNET_NETMASK", "not a netmask"),
            ("VNET_MODE=STATIC\nVNET_SUBNET=10.20.0.0\nVNET_NETMASK=24\n", "VNET_MACMAP", "is needed"),
            ("VNET_MODE=STATIC\nVNET_SUBNET=10.20.0.0\nVNET_NETMASK=24\nVNET_MACMAP=d0:0d:00:00:00:01=10.20.0.2 D0:0D:00:00:00:01=10.20.0.3\n",
             "VNET_MACMAP", "listed twice"),
            ("VNET_MODE=STATIC\nVNET_SUBNET=10.20.0.0\nVNET_NETMASK=24\nVNET_MACMAP=d0:0d:00:00:00:01=10.20.0.2 d0:0d:00:00:00:02=10.20.0.2\n",
             "VNET_MACMAP", "listed twice"),
            ("VNET_MODE=STATIC\nVNET_SUBNET=10.20.0.0\nVNET_NETMASK=24\nVNET_MACMAP=d0:0d:00:00:00:01=10.20.1.2\n", "VNET_MACMAP", "not an instance's address"),
            ("VNET_MODE=STATIC\nVNET_SUBNET=10.20.0.0\nVNET_NETMASK=24\nVNET_MACMAP=d0:0d:00:00:00:01=10.20.0.1\n", "VNET_MACMAP", "not an instance's address"),
            ("VNET_MODE=STATIC\nVNET_SUBNET=10.20.0.0\nVNET_NETMASK=24\nVNET_MACMAP=01:00:5e:00:00:01=10.20.0.2\n", "VNET_MACMAP", "multicast"),
            ("VNET_MODE=MANAGED\n", "VNET_NETMASK", "is needed"),
            ("VNET_MODE=BRIDGED\n", "VNET_MODE", "is not one of"),
        ]
        for (text, key, words) in cases {
            guard let error = refusal(text) else {
                Issue.record("accepted: \(text)")
                continue
            }
            #expect(error.key == key && error.message.contains(words), "\(text) → \(error)")
            #expect(error.description.contains("eucalyptus.conf"), "the file is named: \(error)")
        }
    }
}
