import EucaCore
import Testing

@Suite struct ConfigurationTests {
    @Test func parsesEucalyptusConfStyle() throws {
        let text = """
            # a comment
            VNET_MODE="MANAGED-NOVLAN"
            export NODES='10.0.0.1 10.0.0.2'
            EC2_PORT=8773   # trailing comment

            EMPTY=""
            """
        let config = try EucaConfig.parse(text, path: "eucalyptus.conf")
        #expect(config.entry("VNET_MODE")?.value == "MANAGED-NOVLAN")
        #expect(config.entry("NODES")?.value == "10.0.0.1 10.0.0.2")
        #expect(try config.port("EC2_PORT", default: 1) == 8773)
        #expect(config.entry("EMPTY")?.value == "")
        #expect(config.entry("VNET_MODE")?.source == .file(path: "eucalyptus.conf", line: 2))
    }

    @Test func theEnvironmentOverridesTheFile() throws {
        var config = try EucaConfig.parse("EC2_PORT=\"8773\"", path: "f")
        config.environment = ["EC2_PORT": "9000"]
        #expect(try config.port("EC2_PORT", default: 1) == 9000)
    }

    @Test func aBadValueNamesKeyFileAndLine() throws {
        let config = try EucaConfig.parse("\n\nEC2_PORT=\"eighty\"\n", path: "/etc/euca.conf")
        #expect {
            try config.port("EC2_PORT", default: 8773)
        } throws: { error in
            let text = String(describing: error)
            return text.contains("/etc/euca.conf:3") && text.contains("EC2_PORT") && text.contains("eighty")
        }
    }

    @Test func aBadLineIsRefusedWithItsNumber() {
        #expect {
            try EucaConfig.parse("A=1\nthis is not a setting\n", path: "x.conf")
        } throws: { error in
            String(describing: error).contains("x.conf:2")
        }
        #expect(throws: ConfigError.self) { try EucaConfig.parse("A=\"unterminated\n", path: "x.conf") }
        #expect(throws: ConfigError.self) { try EucaConfig.parse("1A=3\n", path: "x.conf") }
    }

    @Test func choicesAndRanges() throws {
        let config = EucaConfig(environment: ["SCHEDPOLICY": "greedy", "N": "0", "B": "maybe"])
        #expect(try config.choice("SCHEDPOLICY", default: "ROUNDROBIN", from: ["GREEDY", "ROUNDROBIN"]) == "GREEDY")
        #expect(throws: ConfigError.self) { try config.integer("N", default: 1, in: 1...10) }
        #expect(throws: ConfigError.self) { try config.boolean("B", default: false) }
        #expect(config.unknownFileKeys(known: []) == [])
    }
}
