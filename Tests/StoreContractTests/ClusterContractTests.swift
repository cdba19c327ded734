#if canImport(Glibc)
    import Glibc
#endif
import Crypto
import DeviceProtocol
import Foundation
import MFACore
import PostgresStore
import Testing

/// Challenges and pushes shared by the nodes, and what a node does when the database is gone: PostgreSQL's alone.
extension StoreContractTests {
    func sharedPush(
        _ id: String, user: String = "alice", kind: Resource.Kind = .api, joinKey: String? = nil, expires: Date? = nil
    ) -> SharedPush {
        let expires = expires ?? now + 60
        return SharedPush(
            message: PushMessage(
                id: id, deviceID: "dev-1", user: user, resourceKind: kind.rawValue, resourceName: "portal", clientAddress: "10.0.0.1",
                created: Int64(now.timeIntervalSince1970), expires: Int64(expires.timeIntervalSince1970), nonce: "bm9uY2U=",
                signature: "c2ln", callingStationID: "aa-bb"),
            devicePublicKey: "key", webAuthn: WebAuthnCredential(id: "cred", publicKey: "webauthn-key"),
            resource: Resource(kind: kind, name: "portal"), joinKey: joinKey, numberMatching: false)
    }

    // MARK: Challenges

    @Test(arguments: [Backend.postgresql])
    func aChallengeIssuedOnOneNodeIsTakenOnceOnAnother(_ backend: Backend) async throws {
        try await TestDatabase.with(backend) { database in
            let (a, b) = (try database.cluster(), try database.cluster())
            let challenge = StoredChallenge(
                username: "alice", resource: Resource(kind: .radius, name: "vpn"), clientAddress: "10.0.0.1", expires: now + 300,
                pushID: "push-1")
            let state = Array(SHA256.hash(data: [1, 2, 3]))
            #expect(try await a.issueChallenge(stateHash: state, challenge, capacity: 10, now: now))
            let taken = try await withThrowingTaskGroup(of: StoredChallenge?.self) { group in
                for node in [a, b, b, a] { group.addTask { try await node.takeChallenge(stateHash: state) } }
                return try await group.compactMap { $0 }.reduce(into: [StoredChallenge]()) { $0.append($1) }
            }
            #expect(taken == [challenge])
            #expect(try await b.takeChallenge(stateHash: state) == nil)
        }
    }

    /// What the primary check granted and its own State come back with the challenge, byte for byte; a challenge
    /// without them comes back without them.
    @Test(arguments: [Backend.postgresql])
    func aChallengeKeepsItsGrantAndPrimaryState(_ backend: Backend) async throws {
        try await TestDatabase.with(backend) { database in
            let (a, b) = (try database.cluster(), try database.cluster())
            let grant = Grant(
                groups: ["vpn", "CN=Admins,OU=Groups,DC=example,DC=com", "jürgens"],
                attributes: [
                    ReplyAttribute(type: 25, value: [0x00, 0x01, 0xFF, 0x80]),  // Class: any octets
                    ReplyAttribute(type: 11, value: Array("acl-vpn".utf8)),  // Filter-Id
                ])
            let challenge = StoredChallenge(
                username: "alice", resource: Resource(kind: .radius, name: "vpn"), clientAddress: "10.0.0.1", expires: now + 300,
                pushID: nil, grant: grant, primaryState: [0x00, 0xFE, 0x07])
            #expect(try await a.issueChallenge(stateHash: [1], challenge, capacity: 10, now: now))
            let taken = try #require(try await b.takeChallenge(stateHash: [1]))
            #expect(taken == challenge)
            #expect(taken.grant == grant && taken.primaryState == [0x00, 0xFE, 0x07])

            var plain = challenge
            plain.grant = Grant()
            plain.primaryState = nil
            #expect(try await a.issueChallenge(stateHash: [2], plain, capacity: 10, now: now))
            #expect(try await b.takeChallenge(stateHash: [2]) == plain)
        }
    }

    @Test(arguments: [Backend.postgresql])
    func challengesStopAtCapacityUntilTheyExpire(_ backend: Backend) async throws {
        try await TestDatabase.with(backend) { database in
            let (a, b) = (try database.cluster(), try database.cluster())
            func challenge(expires: Date) -> StoredChallenge {
                StoredChallenge(
                    username: "alice", resource: Resource(kind: .radius, name: "vpn"), clientAddress: "10.0.0.1", expires: expires,
                    pushID: nil)
            }
            #expect(try await a.issueChallenge(stateHash: [1], challenge(expires: now + 10), capacity: 2, now: now))
            #expect(try await b.issueChallenge(stateHash: [2], challenge(expires: now + 300), capacity: 2, now: now))
            #expect(try await a.issueChallenge(stateHash: [3], challenge(expires: now + 300), capacity: 2, now: now) == false)
            // The first has expired by now + 20: it no longer counts.
            #expect(try await b.issueChallenge(stateHash: [4], challenge(expires: now + 300), capacity: 2, now: now + 20))
            #expect(try await a.takeChallenge(stateHash: [3]) == nil)
            #expect(try await a.takeChallenge(stateHash: [4])?.pushID == nil)
        }
    }

    // MARK: The push cluster

    @Test(arguments: [Backend.postgresql])
    func pushesAreSharedWithTheOtherNodes(_ backend: Backend) async throws {
        try await TestDatabase.with(backend) { database in
            let (a, b) = (try database.cluster(), try database.cluster())
            let heard = ChangeRecorder(b.changes())
            try await heard.waitFor("listening") { $0.first == .resynchronize }
            let unlimited = PushLimiter.Settings(enabled: false)

            let push = sharedPush("push-1", joinKey: "join-1")
            #expect(try await a.publish(push, limit: unlimited, now: now) == .created)
            try await heard.waitFor("the new push") { $0.contains(.created(push)) }
            #expect(try await b.push(id: "push-1") == push)
            #expect(try await b.pendingPushes(now: now) == [push])

            // The same attempt on the other node joins it.
            #expect(try await b.publish(sharedPush("push-2", joinKey: "join-1"), limit: unlimited, now: now) == .joined(push))
            #expect(try await a.push(id: "push-2") == nil)

            // The first answer wins, and the other node hears it.
            #expect(try await b.resolve(pushID: "push-1", outcome: .approved, number: "42"))
            #expect(try await a.resolve(pushID: "push-1", outcome: .denied, number: nil) == false)
            try await heard.waitFor("the answer") { $0.contains(.resolved(pushID: "push-1", outcome: .approved, number: "42")) }
            #expect(try await a.push(id: "push-1")?.outcome == .approved)
            #expect(try await a.push(id: "push-1")?.number == "42")
            #expect(try await a.pendingPushes(now: now).isEmpty)

            // Resolved, the join key is free again.
            #expect(try await a.publish(sharedPush("push-3", joinKey: "join-1"), limit: unlimited, now: now) == .created)
        }
    }

    @Test(arguments: [Backend.postgresql])
    func theLimiterCountsEveryNodesPendingPushes(_ backend: Backend) async throws {
        try await TestDatabase.with(backend) { database in
            let (a, b) = (try database.cluster(), try database.cluster())
            let limit = PushLimiter.Settings(enabled: true, maxConcurrent: 2, window: 60, exempt: [.radius])
            #expect(try await a.publish(sharedPush("p1"), limit: limit, now: now) == .created)
            #expect(try await b.publish(sharedPush("p2"), limit: limit, now: now) == .created)
            #expect(try await a.publish(sharedPush("p3"), limit: limit, now: now) == .limited)
            // Another user, an exempt kind: not counted against.
            #expect(try await b.publish(sharedPush("p4", user: "bob"), limit: limit, now: now) == .created)
            #expect(try await b.publish(sharedPush("p5", kind: .radius), limit: limit, now: now) == .created)
            #expect(try await b.publish(sharedPush("p6", kind: .radius), limit: limit, now: now) == .created)
            // A resolved push no longer counts; nor one older than the window.
            #expect(try await a.resolve(pushID: "p1", outcome: .denied, number: nil))
            #expect(try await b.publish(sharedPush("p7"), limit: limit, now: now) == .created)
            #expect(try await b.publish(sharedPush("p8", expires: now + 600), limit: limit, now: now + 61) == .created)
            // At once on both nodes: the limit holds.
            let results = try await withThrowingTaskGroup(of: PushPublication.self) { group in
                for index in 0..<6 {
                    let node = index.isMultiple(of: 2) ? a : b
                    group.addTask {
                        try await node.publish(self.sharedPush("race-\(index)", user: "carol"), limit: limit, now: self.now)
                    }
                }
                return try await group.reduce(into: [PushPublication]()) { $0.append($1) }
            }
            #expect(results.filter { $0 == .created }.count == 2)
            #expect(results.filter { $0 == .limited }.count == 4)
        }
    }

    @Test(arguments: [Backend.postgresql])
    func pendingPushesLeaveOutTheExpiredAndTheResolved(_ backend: Backend) async throws {
        try await TestDatabase.with(backend) { database in
            let store = try database.cluster()
            let unlimited = PushLimiter.Settings(enabled: false)
            let short = sharedPush("short", joinKey: "join-short", expires: now + 10)
            let long = sharedPush("long", expires: now + 100)
            #expect(try await store.publish(short, limit: unlimited, now: now) == .created)
            #expect(try await store.publish(long, limit: unlimited, now: now) == .created)
            #expect(try await store.publish(sharedPush("answered"), limit: unlimited, now: now) == .created)
            #expect(try await store.resolve(pushID: "answered", outcome: .approved, number: nil))
            #expect(try await store.pendingPushes(now: now).map(\.message.id) == ["long", "short"].sorted())
            #expect(try await store.pendingPushes(now: now + 20).map(\.message.id) == ["long"])
            // An expired push nobody resolved (its node stopped) does not hold its join key.
            let retry = sharedPush("retry", joinKey: "join-short", expires: now + 80)
            #expect(try await store.publish(retry, limit: unlimited, now: now + 20) == .created)
            #expect(try await store.push(id: "short")?.outcome == .timedOut)
        }
    }

    /// Several consumers each get every change.
    @Test(arguments: [Backend.postgresql])
    func everyConsumerHearsEveryChange(_ backend: Backend) async throws {
        try await TestDatabase.with(backend) { database in
            let (a, b) = (try database.cluster(), try database.cluster())
            let first = ChangeRecorder(b.changes())
            let second = ChangeRecorder(b.changes())
            let own = ChangeRecorder(a.changes())
            for recorder in [first, second, own] { try await recorder.waitFor("listening") { $0.first == .resynchronize } }
            let push = sharedPush("push-1")
            #expect(try await a.publish(push, limit: PushLimiter.Settings(enabled: false), now: now) == .created)
            for recorder in [first, second, own] { try await recorder.waitFor("the push") { $0.contains(.created(push)) } }
        }
    }

    // MARK: A database that is gone

    /// Nothing listens there: the store says so within its limit, not after the pool's minute.
    @Test(arguments: [Backend.postgresql])
    func aDeadServerFailsFast(_ backend: Backend) async throws {
        try await expectFastFailure(port: 1)
    }

    /// A server that accepts the connection and never answers: the same.
    @Test(arguments: [Backend.postgresql])
    func aSilentServerFailsFast(_ backend: Backend) async throws {
        let listener = try SilentListener()
        defer { listener.close() }
        try await expectFastFailure(port: listener.port)
    }

    private func expectFastFailure(port: Int) async throws {
        let store = try PostgresStore(
            endpoint: PostgresEndpoint(host: "127.0.0.1", port: port, username: "nobody", password: "x", database: "none", tls: .disable),
            key: SymmetricKey(size: .bits256))
        let clock = ContinuousClock()
        let started = clock.now
        let error = await #expect(throws: StoreError(.io, "")) { try await store.credentials(for: "alice") }
        #expect(error?.message.hasPrefix("database unreachable") == true, "\(String(describing: error))")
        #expect(clock.now - started < .seconds(3))
        let healthStarted = clock.now
        #expect(await store.healthProblem() != nil)
        #expect(clock.now - healthStarted < .seconds(2))
        let logins = clock.now
        await #expect(throws: StoreError(.io, "")) { try await store.recordAcceptedTOTPStep(1, for: "alice") }
        await #expect(throws: StoreError(.io, "")) { try await store.takeChallenge(stateHash: [1]) }
        #expect(clock.now - logins < .seconds(5))
        await store.close()
    }
}

extension StoreContractTests {
    /// The server ends the LISTEN session (a restart, a failover, an administrator): the feed connects again, says
    /// `.resynchronize` again, and hears what happens next.
    @Test(arguments: [Backend.postgresql])
    func theFeedListensAgainAfterItsConnectionIsLost(_ backend: Backend) async throws {
        try await TestDatabase.with(backend) { database in
            let (a, b) = (try database.cluster(), try database.cluster())
            let heard = ChangeRecorder(b.changes())
            try await heard.waitFor("listening") { $0 == [.resynchronize] }
            try await database.terminateConnections(applicationName: PostgresEndpoint.feedApplicationName)
            try await heard.waitFor("listening again") { $0 == [.resynchronize, .resynchronize] }
            let push = sharedPush("after")
            #expect(try await a.publish(push, limit: PushLimiter.Settings(enabled: false), now: now) == .created)
            try await heard.waitFor("the push made after") { $0.last == .created(push) }
        }
    }
}

extension StoreContractTests {
    /// The server refuses the password: the error says so, as the server put it, and does not repeat the password.
    @Test(arguments: [Backend.postgresql])
    func aRefusedPasswordIsReportedWithoutIt(_ backend: Backend) async throws {
        var endpoint = try TestPostgres.fromEnvironment().endpoint
        endpoint.password = "not-the-password-4711"
        let store = try PostgresStore(endpoint: endpoint, key: SymmetricKey(size: .bits256))
        let error = await #expect(throws: StoreError(.io, "")) { try await store.users() }
        #expect(error?.message.contains("28P01") == true, "\(String(describing: error))")
        #expect(error?.message.contains("4711") == false)
        await store.close()
    }

    /// Audit events nobody waits for, on a server that is gone: `onBackgroundWriteFailure` hears of it.
    @Test(arguments: [Backend.postgresql])
    func aFailedBackgroundWriteIsReported(_ backend: Backend) async throws {
        let store = try PostgresStore(
            endpoint: PostgresEndpoint(host: "127.0.0.1", port: 1, username: "nobody", password: "x", database: "none", tls: .disable),
            key: SymmetricKey(size: .bits256))
        let failures = Locked<[String]>([])
        store.onBackgroundWriteFailure { what, _ in failures.withLock { $0.append(what) } }
        store.appendSoon([AuditEvent(time: now, type: .userAdded, user: "alice", result: .success)])
        try await store.flush()
        #expect(failures.withLock { $0 } == ["storing audit events"])
        await #expect(throws: StoreError(.io, "")) {
            try await store.append([AuditEvent(time: now, type: .userAdded, user: "bob", result: .success)])
        }
        await store.close()
    }
}

extension StoreContractTests {
    /// `tls = "require"` with `ca`: the server's certificate is verified against it and the connections are encrypted.
    /// Another CA, or the system's trust store (no `ca`), refuses this server; `prefer` without a CA encrypts without
    /// verifying, as libpq's does.
    @Test(arguments: [Backend.postgresql])
    func tlsIsVerifiedAgainstTheCA(_ backend: Backend) async throws {
        let ca = try TestPostgres.certificateAuthority()
        try await TestDatabase.with(backend) { database in
            let verified = try database.cluster(tls: .require, ca: ca)
            try await verified.addUser("alice", passwordHash: nil, at: now)
            #expect(try await database.encryptedConnections(applicationName: PostgresEndpoint.applicationName) >= 1)

            let unverified = try database.cluster(tls: .prefer)
            #expect(try await unverified.user("alice") != nil)

            for refused in [try database.cluster(tls: .require), try database.cluster(tls: .require, ca: "/etc/ssl/certs/ca-certificates.crt")] {
                await #expect(throws: StoreError(.io, "")) { try await refused.users() }
            }
        }
    }

    /// A CA file that cannot be read is refused as the store opens, naming the file.
    @Test(arguments: [Backend.postgresql])
    func anUnreadableCAIsRefused(_ backend: Backend) throws {
        var endpoint = try TestPostgres.fromEnvironment().endpoint
        endpoint.tls = .require
        endpoint.caPath = "/nonexistent/ca.pem"
        let error = #expect(throws: StoreError(.io, "")) { try PostgresStore(endpoint: endpoint, key: SymmetricKey(size: .bits256)) }
        #expect(error?.message.contains("/nonexistent/ca.pem") == true)
    }
}

extension StoreContractTests {
    /// The LISTEN session stops answering without closing (a host or a network that went silent): the feed's probe
    /// finds out, and the feed connects again and says `.resynchronize` again.
    @Test(arguments: [Backend.postgresql])
    func theFeedListensAgainAfterItsConnectionFallsSilent(_ backend: Backend) async throws {
        try await TestDatabase.with(backend) { database in
            let (a, b) = (try database.cluster(), try database.cluster())
            let heard = ChangeRecorder(b.changes())
            try await heard.waitFor("listening") { $0 == [.resynchronize] }
            let silent = try await database.serverProcesses(applicationName: PostgresEndpoint.feedApplicationName)
            try #require(silent.count == 1)
            // Stopped, not ended: its socket stays open and says nothing (the tests run as root, or as the server's user).
            try #require(kill(silent[0], SIGSTOP) == 0, "cannot stop the server process \(silent[0])")
            defer { kill(silent[0], SIGCONT) }
            try await heard.waitFor("listening again", timeout: .seconds(20)) { $0 == [.resynchronize, .resynchronize] }
            let push = sharedPush("after")
            #expect(try await a.publish(push, limit: PushLimiter.Settings(enabled: false), now: now) == .created)
            try await heard.waitFor("the push made after") { $0.last == .created(push) }
        }
    }
}
