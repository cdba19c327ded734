import Crypto
import Foundation
import MFACore
import Testing

/// Three `countersign serve` processes on one PostgreSQL database (started by Scripts/test), with the real radclient
/// and countersign-device: what a login begins on one node, another finishes.
@Suite struct ClusterTests {
    /// The PostgreSQL that Scripts/test started: `COUNTERSIGN_TEST_POSTGRES_URL` and `_PASSWORD`.
    struct Server {
        var url: URLComponents
        var password: String

        static func fromEnvironment() throws -> Server {
            let environment = ProcessInfo.processInfo.environment
            guard let text = environment["COUNTERSIGN_TEST_POSTGRES_URL"], let url = URLComponents(string: text),
                let password = environment["COUNTERSIGN_TEST_POSTGRES_PASSWORD"]
            else {
                throw Missing(
                    "COUNTERSIGN_TEST_POSTGRES_URL and COUNTERSIGN_TEST_POSTGRES_PASSWORD are not set: run Scripts/test, which starts PostgreSQL")
            }
            return Server(url: url, password: password)
        }

        /// The URL of database `name` on this server.
        func url(database name: String) -> String {
            var url = url
            url.path = "/" + name
            return url.string!
        }

        /// Runs SQL with psql against the server's first database.
        func psql(_ sql: String) async throws {
            let process = try ChildProcess(
                "/usr/bin/psql", [url.string!, "-v", "ON_ERROR_STOP=1", "-qc", sql], environment: ["PGPASSWORD": password])
            try process.closeInput()
            guard try await process.exitStatus() == 0 else { throw Missing("psql failed: \(process.output)") }
        }
    }

    struct Missing: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }

    /// A database of its own and three nodes' configurations on it, each with its own HTTP port; every node's
    /// `public_url` names node b, as a load balancer in front of them would be named.
    struct Cluster {
        let server: Server
        let database: String
        let folder: String
        let names = ["a", "b", "c"]
        let httpPorts: [Int]
        /// The store key all nodes share.
        let environment: [String: String]

        init(server: Server) async throws {
            self.server = server
            database = "cluster_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
            try await server.psql("CREATE DATABASE \(database)")
            folder = FileManager.default.temporaryDirectory.appendingPathComponent("countersign-cluster-\(UUID())").path
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            httpPorts = try (0..<3).map { _ in try ServeProcessTests.Installation.freePort() }
            environment = [
                "COUNTERSIGN_DATABASE_PASSWORD": server.password,
                SecretBox.keyVariable: Data(SymmetricKey(size: .bits256).withUnsafeBytes { Array($0) }).base64EncodedString(),
            ]
            for (index, name) in names.enumerated() {
                let text = """
                    [store]
                    backend = "postgresql"
                    url = "\(server.url(database: database))"
                    tls = "disable"
                    [node]
                    name = "\(name)"
                    [radius]
                    listen = ["127.0.0.1:0"]
                    [[radius.clients]]
                    name = "localhost"
                    address = "127.0.0.1/32"
                    secret = "\(TestGateway.secret)"
                    [http]
                    listen = "127.0.0.1:\(httpPorts[index])"
                    public_url = "http://127.0.0.1:\(httpPorts[1])"
                    [log]
                    format = "json"
                    """
                FileManager.default.createFile(atPath: config(name), contents: Data(text.utf8), attributes: [.posixPermissions: 0o600])
            }
        }

        func config(_ node: String) -> String { folder + "/\(node).toml" }

        func remove() async {
            try? FileManager.default.removeItem(atPath: folder)
            try? await server.psql("DROP DATABASE IF EXISTS \(database) WITH (FORCE)")
        }

        /// A `countersign` admin command through `node`'s configuration; its output lines.
        func cli(_ node: String, _ arguments: [String], input: String? = nil) async throws -> [String] {
            try await ServeProcessTests.cli(arguments, config: config(node), input: input, environment: environment)
        }

        /// `countersign serve` on `node`, once it listens; with a radclient for its RADIUS port.
        func serve(_ node: String) async throws -> (process: ChildProcess, radius: Radclient) {
            let (process, port) = try await ServeProcessTests.serve(config: config(node), environment: environment)
            return (process, Radclient(server: "127.0.0.1:\(port)", secret: TestGateway.secret, timeout: 10))
        }

        /// A user with a password and TOTP, made through node a's CLI; the secret.
        func addUser(_ name: String) async throws -> [UInt8] {
            _ = try await cli("a", ["user", "add", name, "--password-stdin"], input: "pw\n")
            let enrolled = try await cli("a", ["totp", "enroll", name, "--json"])
            let json = try #require(enrolled.last.flatMap { try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: String] })
            return try #require(json["secret"].flatMap(Base32.decode))
        }
    }

    static func code(_ secret: [UInt8], stepOffset: Int64 = 0) -> String {
        OneTimeCode.hotp(secret: secret, counter: UInt64(TOTPParameters.standard.step(at: Date()) + stepOffset), digits: 6)
    }

    static func login(_ user: String, _ password: String, extra: [String] = []) -> [String] {
        RADIUSGatewayTests.login(user, password, extra: extra)
    }

    /// Runs `body` with a fresh cluster whose three nodes serve; stops them and drops the database after.
    static func withCluster(
        server: Server? = nil, _ body: (Cluster, [String: (process: ChildProcess, radius: Radclient)]) async throws -> Void
    ) async throws {
        let cluster = try await Cluster(server: try server ?? Server.fromEnvironment())
        var nodes: [String: (process: ChildProcess, radius: Radclient)] = [:]
        do {
            for name in cluster.names { nodes[name] = try await cluster.serve(name) }
            try await body(cluster, nodes)
        } catch {
            for node in nodes.values { node.process.terminate() }
            await cluster.remove()
            throw error
        }
        for node in nodes.values {
            node.process.terminate()
            _ = try? await node.process.exitStatus()
        }
        await cluster.remove()
    }

    @Test func aUserMadeThroughOneNodeLogsInThroughTheOthersAndACodeWorksOnce() async throws {
        try await Self.withCluster { cluster, nodes in
            let alice = try await cluster.addUser("alice")
            let bob = try await cluster.addUser("bob")
            let carol = try await cluster.addUser("carol")
            let code = Self.code(alice)
            #expect(try await nodes["b"]!.radius.send(Self.login("alice", "pw,\(code)")).code == "Access-Accept")
            // Used on b: refused on a and c.
            #expect(try await nodes["a"]!.radius.send(Self.login("alice", "pw,\(code)")).code == "Access-Reject")
            #expect(try await nodes["c"]!.radius.send(Self.login("bob", "pw,\(Self.code(bob))")).code == "Access-Accept")

            // The same code at two nodes at once: accepted exactly once.
            let carolCode = Self.code(carol)
            async let atA = nodes["a"]!.radius.send(Self.login("carol", "pw,\(carolCode)"))
            async let atB = nodes["b"]!.radius.send(Self.login("carol", "pw,\(carolCode)"))
            let codes = [try await atA.code, try await atB.code]
            #expect(codes.filter { $0 == "Access-Accept" }.count == 1, "\(codes)")
            #expect(codes.filter { $0 == "Access-Reject" }.count == 1, "\(codes)")

            // Every node wrote its own events, named.
            let events = try await cluster.cli("c", ["events", "--json", "--type", "radius_auth"])
            let writers = Set(events.compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }.compactMap {
                $0["node"] as? String
            })
            #expect(writers == ["a", "b", "c"], "\(events)")
        }
    }

    @Test func aChallengeFromOneNodeIsAnsweredOnAnotherAndItsStateWorksOnce() async throws {
        try await Self.withCluster { cluster, nodes in
            let alice = try await cluster.addUser("alice")
            let challenge = try await nodes["a"]!.radius.send(Self.login("alice", "pw"))
            #expect(challenge.code == "Access-Challenge", "\(challenge.output)")
            let state = try #require(challenge.value("State"))
            let answered = try await nodes["b"]!.radius.send(Self.login("alice", Self.code(alice), extra: ["State = \(state)"]))
            #expect(answered.code == "Access-Accept", "\(answered.output)")
            let replayed = try await nodes["c"]!.radius.send(Self.login("alice", Self.code(alice, stepOffset: 1), extra: ["State = \(state)"]))
            #expect(replayed.code == "Access-Reject")
        }
    }

    @Test func failuresOnDifferentNodesLockTheUserTogether() async throws {
        try await Self.withCluster { cluster, nodes in
            _ = try await cluster.addUser("alice")
            // [lockout] defaults: ten failures lock.
            for attempt in 0..<10 {
                let node = cluster.names[attempt % 3]
                #expect(try await nodes[node]!.radius.send(Self.login("alice", "wrong,000000")).code == "Access-Reject")
            }
            let user = try await cluster.cli("b", ["user", "show", "alice"])
            #expect(user.contains { $0.lowercased().contains("locked") }, "\(user)")
        }
    }

    /// A push made by a login on node a reaches the device polling node b; its approval there releases the login on a.
    /// The same attempt sent to a and to b makes one push.
    @Test func aPushFromOneNodeIsApprovedThroughAnotherAndTheSameAttemptMakesOnePush() async throws {
        try await Self.withCluster { cluster, nodes in
            _ = try await cluster.cli("a", ["user", "add", "bob", "--password-stdin"], input: "pw\n")
            let device = try await Self.enrollDevice(cluster, user: "bob")
            defer { device.terminate() }
            let session = ["Calling-Station-Id = \"10.0.0.7\"", "NAS-Port = 4"]
            async let atA = nodes["a"]!.radius.send(Self.login("bob", "pw", extra: session))
            #expect(await device.lines(where: { $0.hasPrefix("push ") }) != nil)
            async let atB = nodes["b"]!.radius.send(Self.login("bob", "pw", extra: session))
            // Approved once b's copy of the attempt waits on the push too.
            try await cluster.waitForWaitingLogin(on: "b")
            device.write("y\n")
            let replies = [try await atA.code, try await atB.code]
            #expect(replies == ["Access-Accept", "Access-Accept"], "\(replies)")
            #expect(device.output.filter { $0.hasPrefix("push ") }.count == 1, "\(device.output)")
            let attempts = try await cluster.cli("c", ["events", "--type", "push_mfa_attempt"])
            #expect(attempts.count == 1, "\(attempts)")
        }
    }

    /// `kill -9` on node a while its push is pending: the NAS's retry to node b joins that push, and the approval
    /// completes the login there.
    @Test func aRetryToAnotherNodeAfterAKillJoinsThePendingPush() async throws {
        try await Self.withCluster { cluster, nodes in
            _ = try await cluster.cli("a", ["user", "add", "bob", "--password-stdin"], input: "pw\n")
            let device = try await Self.enrollDevice(cluster, user: "bob")
            defer { device.terminate() }
            let session = ["Calling-Station-Id = \"10.0.0.8\"", "NAS-Port = 5"]
            let first = Task { try await nodes["a"]!.radius.send(Self.login("bob", "pw", extra: session)) }
            #expect(await device.lines(where: { $0.hasPrefix("push ") }) != nil)
            nodes["a"]!.process.signal(SIGKILL)
            _ = try await nodes["a"]!.process.exitStatus()
            _ = try? await first.value
            let retry = Task { try await nodes["b"]!.radius.send(Self.login("bob", "pw", extra: session)) }
            try await cluster.waitForWaitingLogin(on: "b")
            device.write("y\n")
            #expect(try await retry.value.code == "Access-Accept")
            #expect(device.output.filter { $0.hasPrefix("push ") }.count == 1, "\(device.output)")
        }
    }

    /// The database stopped: a node refuses logins at once with a Reply-Message and stops answering Status-Server
    /// (so that NASes fail over); started again, logins work without restarting the node.
    @Test func aNodeWithoutItsDatabaseRefusesAtOnceGoesQuietAndRecoversByItself() async throws {
        let state = FileManager.default.temporaryDirectory.appendingPathComponent("countersign-outage-\(UUID()).env").path
        let server = try await Self.privateServer(state)
        do {
            try await Self.withCluster(server: server) { cluster, nodes in
                let alice = try await cluster.addUser("alice")
                let bob = try await cluster.addUser("bob")
                let a = nodes["a"]!.radius
                #expect(try await a.send(Self.login("alice", "pw,\(Self.code(alice))")).code == "Access-Accept")

                try await Self.postgres(["pause", state])
                // A NAS probing with Status-Server (RFC 5997) sees the node go quiet.
                #expect(try await Self.statusServer(a, answered: false), "Status-Server still answered 10 s after the database stopped")
                // A NAS that gives up after a second still gets its reject, with the reason.
                let refused = try await Radclient(server: a.server, secret: a.secret, timeout: 1, retries: 1)
                    .send(Self.login("bob", "pw,\(Self.code(bob))"))
                #expect(refused.code == "Access-Reject", "\(refused.output)")
                #expect(refused.value("Reply-Message") == "Authentication service unavailable, try again later")

                try await Self.postgres(["resume", state])
                #expect(try await Self.statusServer(a, answered: true), "Status-Server not answered again after the database came back")
                #expect(try await a.send(Self.login("bob", "pw,\(Self.code(bob))")).code == "Access-Accept")
            }
        } catch {
            try? await Self.postgres(["stop", state])
            throw error
        }
        try await Self.postgres(["stop", state])
    }

    /// Until Status-Server is (or is no longer) answered, within 10 s (scaled); whether it came to that.
    static func statusServer(_ radius: Radclient, answered: Bool) async throws -> Bool {
        let probe = Radclient(server: radius.server, secret: radius.secret, timeout: 1, retries: 1)
        let deadline = Date().addingTimeInterval(TestTimeout.scaled(10))
        while Date() < deadline {
            let reply = try await probe.send(["Message-Authenticator = 0x00"], command: "status")
            if (reply.code == "Access-Accept") == answered { return true }
        }
        return false
    }

    /// Scripts/postgres with `arguments`; its output lines.
    @discardableResult
    static func postgres(_ arguments: [String]) async throws -> [String] {
        let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().path
        let process = try ChildProcess("/bin/bash", [repository + "/Scripts/postgres"] + arguments)
        try process.closeInput()
        guard try await process.exitStatus() == 0 else { throw Missing("Scripts/postgres \(arguments): \(process.output)") }
        return process.output
    }

    /// A PostgreSQL server of this test's own, which it may stop and start.
    static func privateServer(_ state: String) async throws -> Server {
        var variables: [String: String] = [:]
        for line in try await postgres(["start", state]) where line.hasPrefix("export ") {
            let pair = line.dropFirst("export ".count).split(separator: "=", maxSplits: 1)
            if pair.count == 2 { variables[String(pair[0])] = String(pair[1]) }
        }
        guard let text = variables["COUNTERSIGN_TEST_POSTGRES_URL"], let url = URLComponents(string: text),
            let password = variables["COUNTERSIGN_TEST_POSTGRES_PASSWORD"]
        else { throw Missing("Scripts/postgres start printed no server") }
        return Server(url: url, password: password)
    }

    /// The real countersign-device, enrolled through node a's CLI (its link names node b), listening and asking.
    static func enrollDevice(_ cluster: Cluster, user: String) async throws -> ChildProcess {
        let uri = try #require(try await cluster.cli("a", ["device", "enroll", user]).last)
        let keystore = cluster.folder + "/\(user).json"
        let enroll = try ChildProcess(ChildProcess.builtProduct("countersign-device"), ["enroll", uri, "--keystore", keystore])
        #expect(try await enroll.exitStatus() == 0, "\(enroll.output)")
        return try ChildProcess(ChildProcess.builtProduct("countersign-device"), ["listen", "--keystore", keystore, "--ask"])
    }
}

extension ClusterTests.Cluster {
    /// Until `node`'s status shows a login waiting on a push.
    func waitForWaitingLogin(on node: String) async throws {
        let port = httpPorts[names.firstIndex(of: node)!]
        for _ in 0..<Int(TestTimeout.scaled(100)) {
            let status = try await GatewayHealthTests.get("http://127.0.0.1:\(port)/v1/status")
            if let json = try? JSONSerialization.jsonObject(with: Data(status.body.utf8)) as? [String: Any],
                let waiting = json["logins_waiting_on_push"] as? Int, waiting > 0
            {
                return
            }
            try await Task.sleep(for: .milliseconds(100))  // the poll interval of another process's status page
        }
        throw ClusterTests.Missing("no login waited on a push on node \(node)")
    }
}
