import CountersignConfig
import Foundation
import MFACore
import Testing

/// What an attacker tries first: guessing, reading the database, replaying after a crash.
@Suite struct HardeningTests {
    @Test func repeatedFailuresLockTheUserUntilUnlocked() async throws {
        try await TestGateway.with(lockout: LockoutSettings(maxFailures: 3)) { gateway in
            let secret = try await gateway.addUser("alice", password: "pw")
            let client = gateway.radclient()
            for guess in ["guess1", "guess2", "guess3"] {
                #expect(try await client.send(RADIUSGatewayTests.login("alice", "\(guess),\(gateway.code(secret))")).code == "Access-Reject")
            }
            let locked = try await client.send(RADIUSGatewayTests.login("alice", "pw,\(gateway.code(secret))"))
            #expect(locked.code == "Access-Reject")
            #expect(locked.value("Reply-Message") == "Account locked after too many failed attempts, try again later")
            #expect(try await gateway.events(.userLocked).count == 1)
            #expect(try await gateway.admin.user("alice").lockedUntil != nil)

            try await gateway.admin.unlock("alice")
            #expect(try await client.send(RADIUSGatewayTests.login("alice", "pw,\(gateway.code(secret, stepOffset: 1))")).code == "Access-Accept")
            #expect(try await gateway.events(.userLocked).count == 1)
        }
    }

    @Test func aClientsFailuresRateLimitItAloneUntilItsBucketRefills() async throws {
        let clock = ManualWallClock(Date())
        try await TestGateway.with(clientFailureRate: 1, clientFailureBurst: 3, clock: clock) { gateway in
            let secret = try await gateway.addUser("alice", password: "pw")
            let v4 = gateway.radclient()
            for guess in 1...3 {
                let reply = try await v4.send(RADIUSGatewayTests.login("mallory\(guess)", "guess"))
                #expect(reply.value("Reply-Message") == "Wrong username or password", "\(reply.output)")
            }
            // 127.0.0.1's bucket is empty: refused undecided, even with the right password and code.
            for _ in 0..<2 {
                let refused = try await v4.send(RADIUSGatewayTests.login("alice", "pw,\(gateway.code(secret))"))
                #expect(refused.code == "Access-Reject")
                #expect(refused.value("Reply-Message") == "Too many failed attempts, try again later")
            }
            let status = try await v4.send(["Message-Authenticator = 0x00"], command: "status")
            #expect(status.code == "Access-Accept")
            #expect(try await gateway.events(.radiusAuth).filter { $0.user == "alice" }.isEmpty)
            let limited = try await gateway.events(.clientRateLimited)
            #expect(limited.count == 1)
            #expect(limited.first?.clientAddress == "127.0.0.1")
            #expect(limited.first?.resource == "radius:local")

            // ::1 is another client with a bucket of its own.
            let v6 = try await gateway.radclient(ipv6: true).send(RADIUSGatewayTests.login("alice", "pw,\(gateway.code(secret))"))
            #expect(v6.code == "Access-Accept", "\(v6.output)")

            // A token back (1 per second); the next step's code, as the last one was used.
            clock.advance(by: 30)
            let refilled = try await v4.send(RADIUSGatewayTests.login("alice", "pw,\(gateway.code(secret))"))
            #expect(refilled.code == "Access-Accept", "\(refilled.output)")
            #expect(try await gateway.events(.clientRateLimited).count == 1)
        }
    }

    @Test func noTOTPSecretIsReadableInTheDatabaseFiles() async throws {
        try await TestGateway.with { gateway in
            let secret = try await gateway.addUser("alice", password: "pw")
            // A login, so that the WAL holds recent pages too.
            _ = try await gateway.radclient().send(RADIUSGatewayTests.login("alice", "pw,\(gateway.code(secret))"))
            let path = gateway.gateway.configuration.store.path
            let base32 = Array(Base32.encode(secret).utf8)
            for file in [path, path + "-wal", path + "-shm", gateway.gateway.configuration.store.keyPath] {
                guard FileManager.default.fileExists(atPath: file) else { continue }
                let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: file)))
                #expect(!Self.contains(bytes, secret), "raw secret in \(file)")
                #expect(!Self.contains(bytes, base32), "base32 secret in \(file)")
                let mode = try FileManager.default.attributesOfItem(atPath: file)[.posixPermissions] as? NSNumber
                #expect(mode?.intValue == 0o600, "\(file)")
            }
        }
    }

    static func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
        guard !needle.isEmpty, haystack.count >= needle.count else { return false }
        return (0...(haystack.count - needle.count)).contains { haystack[$0..<($0 + needle.count)].elementsEqual(needle) }
    }
}
