import CountersignApp
import Foundation
import MFACore
import Testing

/// `countersign --version`, `config check`, `store backup|restore` and `status`, as the real process.
@Suite struct OperationsCommandTests {
    typealias Installation = ServeProcessTests.Installation

    /// Runs `countersign` with `arguments` as they are (no `--config` added); exit status and output lines.
    static func countersign(_ arguments: [String], environment: [String: String]? = nil) async throws -> (status: Int32, output: [String]) {
        let process = try ChildProcess(ChildProcess.builtProduct("countersign"), arguments, environment: environment)
        try process.closeInput()
        return (try await process.exitStatus(), process.output)
    }

    @Test func theVersionIsPrinted() async throws {
        let version = try await Self.countersign(["--version"])
        #expect(version.status == 0)
        #expect(version.output == [CountersignVersion.current])
    }

    @Test func configCheckListsEveryErrorAndExitsOne() async throws {
        let installation = try Installation()
        defer { installation.remove() }
        let good = try await Self.countersign(["config", "check", "--config", installation.config])
        #expect(good.status == 0)
        #expect(good.output == ["\(installation.config): configuration OK"])

        let bad = installation.folder + "/bad.toml"
        let text = """
            [radius]
            listen = ["127.0.0.1:99999"]
            delimter = ","
            [[radius.clients]]
            name = "nas"
            address = "10.0.0.1/8"
            secret = "s"
            [log]
            level = "chatty"
            [push]
            timeout = 0
            """
        FileManager.default.createFile(atPath: bad, contents: Data(text.utf8))
        let checked = try await Self.countersign(["config", "check", "--config", bad])
        #expect(checked.status == 1)
        #expect(checked.output.count == 5, "\(checked.output)")
        for key in ["radius.delimter", "radius.listen[0]", "radius.clients[0].address", "log.level"] {
            #expect(checked.output.contains { $0.hasPrefix("\(bad): \(key): ") }, "\(key): \(checked.output)")
        }
        #expect(checked.output.last == "4 errors")
        // The client's address stopped the [radius] section, so push.timeout's rule waits for the next check.
        #expect(!checked.output.contains { $0.contains("push.timeout") })
    }

    @Test func statusReportsTheRunningNode() async throws {
        let installation = try Installation(clientMode: "second-factor-only")
        defer { installation.remove() }
        _ = try await installation.cli(["user", "add", "alice"])
        let enrolled = try await installation.cli(["totp", "enroll", "alice", "--json"])
        let json = try #require(enrolled.last.flatMap { try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: String] })
        let secret = try #require(json["secret"].flatMap(Base32.decode))
        let (server, port) = try await installation.serve()
        defer { server.terminate() }

        let client = Radclient(server: "127.0.0.1:\(port)", secret: TestGateway.secret, timeout: 30)
        let accepted = try await client.send(RADIUSGatewayTests.login("alice", OneTimeCode.totp(secret: secret, at: Date())))
        #expect(accepted.code == "Access-Accept", "\(accepted.output)")
        let rejected = try await client.send(RADIUSGatewayTests.login("alice", "000000x"))
        #expect(rejected.code == "Access-Reject", "\(rejected.output)")

        let lines = try await installation.cli(["status", "--json"])
        let status = try #require(lines.last.flatMap { try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] })
        #expect(status["version"] as? String == CountersignVersion.current)
        #expect(status["pushes_pending"] as? Int == 0)
        #expect(status["logins_waiting_on_push"] as? Int == 0)
        #expect((status["uptime_seconds"] as? Int).map { $0 >= 0 } == true)
        let lastMinute = try #require(status["last_minute"] as? [String: Int])
        #expect(lastMinute == ["accepts": 1, "rejects": 1, "challenges": 0])

        let text = try await installation.cli(["status"])
        #expect(text.first == "version:         \(CountersignVersion.current)")
        #expect(text.last == "last minute:     1 accepted, 1 rejected, 0 challenged")
    }

    @Test func statusSaysSoWhenNothingRuns() async throws {
        let installation = try Installation()
        defer { installation.remove() }
        let status = try await Self.countersign(["status", "--config", installation.config])
        #expect(status.status != 0)
        #expect(status.output.contains { $0.contains("is `countersign serve` running?") }, "\(status.output)")
    }

    @Test func aRestoreRefusesAnExistingStoreAndWarnsOfAMissingKey() async throws {
        let installation = try Installation()
        defer { installation.remove() }
        _ = try await installation.cli(["user", "add", "alice"])
        let backup = installation.folder + "/backup.db"
        let made = try await installation.cli(["store", "backup", backup])
        #expect(made.contains("backed up 1 users and 0 devices to \(backup)"), "\(made)")
        #expect(made.contains { $0.contains("the store key is not in the backup") })

        let refused = try await Self.countersign(["store", "restore", backup, "--config", installation.config])
        #expect(refused.status != 0)
        #expect(refused.output.contains { $0.contains("restore only into a store that does not exist yet") }, "\(refused.output)")

        let elsewhere = try Installation()
        defer { elsewhere.remove() }
        let restored = try await elsewhere.cli(["store", "restore", backup])
        #expect(restored.contains("restored 1 users and 0 devices into \(elsewhere.folder)/countersign.db"), "\(restored)")
        #expect(restored.contains { $0.hasPrefix("warning: no store key at") }, "\(restored)")
    }
}
