import Foundation
import Testing

/// `countersign group …`, `user show --client` and the reply rules' checks, as the real process.
@Suite struct GroupCommandTests {
    typealias Installation = ServeProcessTests.Installation
    static let rules = """
        [[radius.reply]]
        group = "vpn-admins"
        attributes = ['Class = "OU=admins;"', 'Cisco-AVPair = "shell:priv-lvl=15"']
        [[radius.reply]]
        client = "localhost"
        attributes = ['Filter-Id = "everyone"']
        """

    @Test func groupsAndTheAttributesAClientWouldSend() async throws {
        let installation = try Installation(sections: Self.rules)
        defer { installation.remove() }
        func cli(_ arguments: [String]) async throws -> [String] {
            try await ServeProcessTests.cli(arguments, config: installation.config)
        }
        _ = try await cli(["user", "add", "alice"])
        _ = try await cli(["user", "add", "bob"])
        #expect(try await cli(["group", "add", "vpn-admins"]) == ["added group vpn-admins"])
        #expect(try await cli(["group", "members", "add", "vpn-admins", "alice", "bob"]) == ["added 2 to vpn-admins"])
        #expect(try await cli(["group", "members", "remove", "vpn-admins", "bob"]) == ["removed 1 from vpn-admins"])
        #expect(try await cli(["group", "list"]) == ["vpn-admins\tmembers=1"])
        #expect(try await cli(["group", "members", "list", "vpn-admins"]) == ["alice"])

        let alice = try await cli(["user", "show", "alice", "--client", "localhost"])
        #expect(alice.contains("groups:      vpn-admins"), "\(alice)")
        #expect(alice.contains("  Cisco-AVPair = \"shell:priv-lvl=15\""), "\(alice)")
        #expect(alice.contains("  Filter-Id = \"everyone\""), "\(alice)")
        #expect(alice.contains { $0.hasPrefix("  Class = ") }, "\(alice)")
        let bob = try await cli(["user", "show", "bob", "--client", "localhost"])
        #expect(bob.contains("groups:      none"), "\(bob)")
        #expect(!bob.contains { $0.contains("Cisco-AVPair") || $0.contains("Class") }, "\(bob)")
        #expect(bob.contains("  Filter-Id = \"everyone\""), "\(bob)")

        // An unknown user refuses the whole batch; the group stays as it was.
        let refused = await #expect(throws: ServeProcessTests.CommandFailed.self) {
            try await cli(["group", "members", "add", "vpn-admins", "bob", "nobody"])
        }
        #expect(refused?.output == ["Error: no user nobody"])
        #expect(try await cli(["group", "members", "list", "vpn-admins"]) == ["alice"])

        // Deleting the user takes the membership along.
        _ = try await cli(["user", "delete", "alice"])
        #expect(try await cli(["group", "list"]) == ["vpn-admins\tmembers=0"])
        #expect(try await cli(["group", "delete", "vpn-admins"]) == ["deleted group vpn-admins"])
        #expect(try await cli(["group", "list"]) == [])
    }

    @Test func anUnknownAttributeIsAnErrorNamingTheFileAndTheLine() async throws {
        let installation = try Installation(
            sections: """
                [[radius.reply]]
                group = "vpn-admins"
                attributes = [
                    'Class = "OU=admins;"',
                    'Cisco-AVPiar = "shell:priv-lvl=15"',
                ]
                """)
        defer { installation.remove() }
        let text = try String(contentsOfFile: installation.config, encoding: .utf8)
        let line = try #require(text.split(separator: "\n", omittingEmptySubsequences: false).firstIndex { $0.contains("Cisco-AVPiar") }) + 1
        let checked = try await OperationsCommandTests.countersign(["config", "check", "--config", installation.config])
        #expect(checked.status == 1)
        #expect(
            checked.output.first == "\(installation.config):\(line): radius.reply[0].attributes[1]: unknown attribute Cisco-AVPiar "
                + "in 'Cisco-AVPiar = \"shell:priv-lvl=15\"'", "\(checked.output)")
        // serve refuses to start with the same words.
        let served = try await OperationsCommandTests.countersign(["serve", "--config", installation.config])
        #expect(served.status != 0)
        #expect(served.output.contains { $0.contains("\(installation.config):\(line)") && $0.contains("Cisco-AVPiar") }, "\(served.output)")
    }
}
