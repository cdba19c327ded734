import CountersignApp
import Foundation
import MFACore
import Testing
import UserImport

/// Users brought in by `user import` log in at once, with codes from the seed their authenticator app already has.
@Suite struct ImportedUserTests {
    /// RFC 6238's SHA-1 test seed, as a migrated app would hold it.
    static let seed = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"

    static func importFile(_ gateway: TestGateway, name: String, _ text: String) async throws {
        let path = gateway.directory + "/" + name
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        _ = try await gateway.admin.importUsers(fromFile: path, format: ImportFormat(inferringFrom: path)!)
    }

    @Test func importedUserGetsAccessAcceptWithTheImportedSeed() async throws {
        try await TestGateway.with { gateway in
            try await Self.importFile(gateway, name: "users.csv", "username,password,totp_secret\nalice,correct horse,\(Self.seed)\n")
            let code = gateway.code(Base32.decode(Self.seed)!)
            let reply = try await gateway.radclient().send(RADIUSGatewayTests.login("alice", "correct horse,\(code)"))
            #expect(reply.code == "Access-Accept", "\(reply.output)")
            #expect(try await gateway.events(.userImport).first?.details["count"] == "1")
        }
    }

    @Test func importedFreeRADIUSUserAnswersTheChallenge() async throws {
        try await TestGateway.with { gateway in
            try await Self.importFile(gateway, name: "users", "bob Cleartext-Password := \"pw\", TOTP-Secret := \"\(Self.seed)\"\n")
            let client = gateway.radclient()
            let challenge = try await client.send(RADIUSGatewayTests.login("bob", "pw"))
            let state = try #require(challenge.value("State"), "\(challenge.output)")
            let code = gateway.code(Base32.decode(Self.seed)!)
            let answer = try await client.send(RADIUSGatewayTests.login("bob", code, extra: ["State = \(state)"]))
            #expect(answer.code == "Access-Accept", "\(answer.output)")
        }
    }

    @Test func importedSecretOnlyUserPassesASecondFactorOnlyClient() async throws {
        try await TestGateway.with(clients: TestGateway.defaultClients(mode: .secondFactorOnly)) { gateway in
            try await Self.importFile(gateway, name: "users.json", #"[{"username": "carol", "totp_secret": "\#(Self.seed)"}]"#)
            let code = gateway.code(Base32.decode(Self.seed)!)
            let reply = try await gateway.radclient().send(RADIUSGatewayTests.login("carol", code))
            #expect(reply.code == "Access-Accept", "\(reply.output)")
        }
    }
}
