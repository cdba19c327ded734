import CountersignApp
import CountersignConfig
import Foundation
import Logging
import MFACore
import RADIUSCodec
import Synchronization
import Testing

/// `countersign serve` as the real process: crash and stop behaviour that only a process shows.
@Suite struct ServeProcessTests {
    /// A folder with a configuration for a `countersign serve` on free ports, and the CLI pointed at it.
    struct Installation {
        let folder: String
        let config: String
        let httpPort: Int

        /// `clientMode` is the RADIUS client's `mode`; `radiusSettings` are more `[radius]` lines; `sections` are more
        /// tables at the end.
        init(clientMode: String = "auto", radiusSettings: String = "", sections: String = "") throws {
            folder = FileManager.default.temporaryDirectory.appendingPathComponent("countersign-serve-\(UUID())").path
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            config = folder + "/countersign.toml"
            httpPort = try Self.freePort()
            let text = """
                [store]
                path = "countersign.db"
                [radius]
                listen = ["127.0.0.1:0"]
                \(radiusSettings)
                [[radius.clients]]
                name = "localhost"
                address = "127.0.0.1/32"
                secret = "\(TestGateway.secret)"
                mode = "\(clientMode)"
                [http]
                listen = "127.0.0.1:\(httpPort)"
                public_url = "http://127.0.0.1:\(httpPort)"
                [log]
                format = "json"
                \(sections)
                """
            FileManager.default.createFile(atPath: config, contents: Data(text.utf8), attributes: [.posixPermissions: 0o600])
        }

        func remove() { try? FileManager.default.removeItem(atPath: folder) }

        /// Runs a `countersign` admin command; its output lines.
        func cli(_ arguments: [String], input: String? = nil) async throws -> [String] {
            try await ServeProcessTests.cli(arguments, config: config, input: input)
        }

        /// Starts `countersign serve` and returns it with its RADIUS port, once it listens.
        func serve() async throws -> (process: ChildProcess, radiusPort: Int) {
            try await ServeProcessTests.serve(config: config)
        }

        /// A TCP port the kernel says is free now.
        static func freePort() throws -> Int { try freeLoopbackPort(type: Int32(SOCK_STREAM.rawValue)) }
    }

    struct CommandFailed: Error { var output: [String] }

    /// Runs a `countersign` admin command on the configuration `config`; its output lines.
    static func cli(
        _ arguments: [String], config: String, input: String? = nil, environment: [String: String]? = nil
    ) async throws -> [String] {
        let process = try ChildProcess(
            ChildProcess.builtProduct("countersign"), arguments + ["--config", config], environment: environment)
        if let input { process.write(input) }
        try process.closeInput()
        let status = try await process.exitStatus()
        guard status == 0 else { throw CommandFailed(output: process.output) }
        return process.output
    }

    /// Starts `countersign serve` on the configuration `config` and returns it with its RADIUS port, once it listens
    /// (its JSON log says where RADIUS listens, and that HTTP does).
    static func serve(config: String, environment: [String: String]? = nil) async throws -> (process: ChildProcess, radiusPort: Int) {
        let process = try ChildProcess(ChildProcess.builtProduct("countersign"), ["serve", "--config", config], environment: environment)
        guard let line = await process.lines(where: { $0.contains("\"RADIUS listening\"") })?.first,
            await process.lines(where: { $0.contains("\"HTTP listening\"") }) != nil,
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: String],
            let address = object["address"], let port = Int(address.split(separator: ":").last ?? "")
        else { throw CommandFailed(output: process.output) }
        return (process, port)
    }

    @Test func anAcceptedCodeIsRefusedAfterACrashAndRestart() async throws {
        let installation = try Installation()
        defer { installation.remove() }
        _ = try await installation.cli(["user", "add", "alice", "--password-stdin"], input: "pw\n")
        let enrolled = try await installation.cli(["totp", "enroll", "alice", "--json"])
        let json = try #require(enrolled.last.flatMap { try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: String] })
        let secret = try #require(json["secret"].flatMap(Base32.decode))
        let code = OneTimeCode.totp(secret: secret, at: Date())

        let (first, port) = try await installation.serve()
        defer { first.terminate() }
        // The serve process hashes at the real scrypt cost, which a debug build on a loaded machine takes its time over.
        let client = Radclient(server: "127.0.0.1:\(port)", secret: TestGateway.secret, timeout: 30)
        let accepted = try await client.send(RADIUSGatewayTests.login("alice", "pw,\(code)"))
        #expect(accepted.code == "Access-Accept", "\(accepted.output) \(first.output.suffix(5))")
        first.signal(SIGKILL)
        _ = try await first.exitStatus()

        let (second, newPort) = try await installation.serve()
        defer { second.terminate() }
        let replay = try await Radclient(server: "127.0.0.1:\(newPort)", secret: TestGateway.secret, timeout: 30)
            .send(RADIUSGatewayTests.login("alice", "pw,\(code)"))
        #expect(replay.code == "Access-Reject")
        #expect(replay.value("Reply-Message") == "Invalid verification code")
    }

    @Test func sigtermRejectsThePendingPushAndExitsCleanly() async throws {
        let installation = try Installation()
        defer { installation.remove() }
        _ = try await installation.cli(["user", "add", "bob", "--password-stdin"], input: "pw\n")
        let uri = try #require(try await installation.cli(["device", "enroll", "bob"]).last)
        let (server, port) = try await installation.serve()
        defer { server.terminate() }

        let keystore = installation.folder + "/bob.json"
        let enroll = try ChildProcess(ChildProcess.builtProduct("countersign-device"), ["enroll", uri, "--keystore", keystore])
        #expect(try await enroll.exitStatus() == 0, "\(enroll.output)")
        let device = try ChildProcess(ChildProcess.builtProduct("countersign-device"), ["listen", "--keystore", keystore, "--ask"])
        defer { device.terminate() }

        let login = Task {
            try await Radclient(server: "127.0.0.1:\(port)", secret: TestGateway.secret, timeout: 30)
                .send(RADIUSGatewayTests.login("bob", "pw"))
        }
        #expect(await device.lines(where: { $0.hasPrefix("push ") }) != nil)
        server.signal(SIGTERM)
        let reply = try await login.value
        #expect(reply.code == "Access-Reject", "\(reply.output)")
        #expect(try await server.exitStatus() == 0)
        // Audit events are committed after the replies; the server wrote this last login's before it exited.
        let events = try await installation.cli(["events"])
        #expect(events.contains { $0.contains("radius_auth") && $0.contains("bob") }, "\(events)")
    }
}

/// `kill -9` in the middle of a bulk import: the database stays consistent and the import all or nothing.
@Suite struct CrashDuringImportTests {
    @Test func anImportKilledMidwayLeavesAConsistentStoreWithAllOrNothing() async throws {
        let installation = try ServeProcessTests.Installation()
        defer { installation.remove() }
        let count = 50_000
        var csv = "username,totp_secret\n"
        for index in 0..<count { csv += "user\(index),\(Base32.encode(SecureRandom.bytes(20)))\n" }
        let file = installation.folder + "/users.csv"
        FileManager.default.createFile(atPath: file, contents: Data(csv.utf8))
        _ = try await installation.cli(["user", "add", "existing", "--password-stdin"], input: "pw\n")

        let importing = try ChildProcess(
            ChildProcess.builtProduct("countersign"), ["user", "import", file, "--config", installation.config])
        // Killed once its transaction has written a good part of the rows into the WAL (or when it has ended):
        // wherever it stops, nothing of a half import may show.
        let wal = installation.folder + "/countersign.db-wal"
        try await offCooperativePool {
            while importing.isRunning {
                let size = (try? FileManager.default.attributesOfItem(atPath: wal)[.size] as? NSNumber)?.intValue ?? 0
                if size > 1 << 20 { break }
                usleep(500)  // watching another process's file: there is nothing to wait on
            }
        }
        importing.signal(SIGKILL)
        _ = try await importing.exitStatus()

        let check = try ChildProcess("/usr/bin/sqlite3", [installation.folder + "/countersign.db", "PRAGMA integrity_check; SELECT count(*) FROM users;"])
        #expect(try await check.exitStatus() == 0)
        #expect(check.output.first == "ok")
        let users = Int(check.output.last ?? "") ?? -1
        #expect(users == 1 || users == count + 1, "users: \(users)")
    }
}

/// `kill -9` while RADIUS logins and device enrollments are under way: the database stays consistent and every
/// enrollment whose device got the success reply is there after the crash.
@Suite struct CrashDuringAuthLoadTests {
    enum Progress: Sendable {
        /// A RADIUS reply came back.
        case reply
        /// `countersign-device enroll` got the server's success reply.
        case enrolled(user: String, deviceID: String)
        case enrollmentsEnded
    }

    final class Stop: Sendable {
        private let flag = Atomic(false)
        func set() { flag.store(true, ordering: .relaxed) }
        var isSet: Bool { flag.load(ordering: .relaxed) }
    }

    @Test func everyAcknowledgedEnrollmentSurvivesAKillDuringAuthLoad() async throws {
        // Codes alone (no scrypt at the real cost in a debug build), no lockout and no client limit: every request
        // is decided and writes (the accepted step, failure counts, its audit event).
        let installation = try ServeProcessTests.Installation(
            clientMode: "second-factor-only", radiusSettings: "client_failure_rate = 0",
            sections: "[lockout]\nmax_failures = 1000")
        defer { installation.remove() }
        let loadUsers = (0..<4).map { "load\($0)" }
        let deviceUsers = (0..<24).map { "phone\($0)" }
        var loadSecrets: [String: [UInt8]] = [:]
        var enrollmentURIs: [String: String] = [:]
        do {
            var logger = Logger(label: "countersign-test")
            logger.logLevel = .warning
            let admin = try CountersignAdmin(configuration: CountersignConfiguration.load(path: installation.config), logger: logger)
            for user in loadUsers {
                try await admin.addUser(user, password: nil)
                loadSecrets[user] = try #require(Base32.decode(try await admin.enrollTOTP(user).secret))
            }
            for user in deviceUsers {
                try await admin.addUser(user, password: nil)
                enrollmentURIs[user] = try await admin.enrollDevice(user).uri
            }
        }
        let (secrets, uris) = (loadSecrets, enrollmentURIs)

        let (server, port) = try await installation.serve()
        defer { server.terminate() }
        let (progress, reporter) = AsyncStream.makeStream(of: Progress.self)
        let stop = Stop()
        let load = Self.codeLogins(secrets, port: port, until: stop, reporting: reporter)
        let enrollments = Self.enrollments(deviceUsers, uris: uris, folder: installation.folder, lanes: 2, until: stop, reporting: reporter)

        // Killed once the load is answered and some enrollments are acknowledged, with more of both under way.
        var replies = 0
        var acknowledged: [String: String] = [:]
        var events = progress.makeAsyncIterator()
        waiting: while replies < 40 || acknowledged.count < 6, let event = await events.next() {
            switch event {
            case .reply: replies += 1
            case .enrolled(let user, let deviceID): acknowledged[user] = deviceID
            case .enrollmentsEnded: break waiting
            }
        }
        server.signal(SIGKILL)
        _ = try await server.exitStatus()
        stop.set()
        try await load.value
        await enrollments.value
        reporter.finish()
        // Replies that came in before the kill but after the loop stopped reading.
        while let event = await events.next() {
            if case .enrolled(let user, let deviceID) = event { acknowledged[user] = deviceID }
        }
        #expect(replies >= 40)
        #expect(acknowledged.count >= 6)
        #expect(acknowledged.count < deviceUsers.count, "the kill came after the last enrollment")

        let database = installation.folder + "/countersign.db"
        let check = try ChildProcess(
            "/usr/bin/sqlite3", [database, "PRAGMA integrity_check; SELECT user || ' ' || id FROM devices; SELECT count(*) FROM events;"])
        #expect(try await check.exitStatus() == 0)
        #expect(check.output.first == "ok", "\(check.output.prefix(5))")
        let stored = Set(check.output.dropFirst().dropLast())
        // Audit events are committed in groups after the replies (off the reply path): a kill can lose the last
        // group's, but what was committed before it is there.
        #expect(Int(check.output.last ?? "") ?? 0 > 0, "\(check.output.suffix(1)) events for \(replies) replies")
        for (user, deviceID) in acknowledged.sorted(by: { $0.key < $1.key }) {
            #expect(stored.contains("\(user) \(deviceID)"), "acknowledged enrollment of \(user) lost")
            let shown = try await installation.cli(["user", "show", user, "--json"])
            let json = try #require(shown.last.flatMap { try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] })
            #expect((json["device"] as? [String: Any])?["id"] as? String == deviceID, "\(user): \(shown)")
        }
    }

    /// Logins with each user's current code, a socket per user, one request at a time, until `stop`; each reply
    /// reported.
    static func codeLogins(
        _ secrets: [String: [UInt8]], port: Int, until stop: Stop, reporting reporter: AsyncStream<Progress>.Continuation
    ) -> Task<Void, any Error> {
        Task {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for (user, secret) in secrets {
                    group.addTask {
                        try await offCooperativePool {
                            let client = try UDPTestClient(port: port, receiveTimeout: 5)
                            var identifier: UInt8 = 0
                            while !stop.isSet {
                                identifier &+= 1
                                client.send(Self.codeRequest(user, OneTimeCode.totp(secret: secret, at: Date()), identifier: identifier))
                                if client.receiveBlocking() != nil { reporter.yield(.reply) }
                            }
                        }
                    }
                }
                try await group.waitForAll()
            }
        }
    }

    /// `countersign-device enroll` for each user, `lanes` at a time, until `stop`; each acknowledged enrollment
    /// reported, then the end.
    static func enrollments(
        _ users: [String], uris: [String: String], folder: String, lanes: Int, until stop: Stop,
        reporting reporter: AsyncStream<Progress>.Continuation
    ) -> Task<Void, Never> {
        Task {
            await withTaskGroup(of: Void.self) { group in
                for lane in 0..<lanes {
                    let users = users.enumerated().filter { $0.offset % lanes == lane }.map(\.element)
                    group.addTask {
                        for user in users where !stop.isSet {
                            guard let uri = uris[user],
                                let enroll = try? ChildProcess(
                                    ChildProcess.builtProduct("countersign-device"),
                                    ["enroll", uri, "--keystore", folder + "/\(user).json", "--name", user])
                            else { continue }
                            // "enrolled device ID for USER", printed once the server's success reply is in.
                            if (try? await enroll.exitStatus()) == 0,
                                let line = enroll.output.first(where: { $0.hasPrefix("enrolled device ") })
                            {
                                reporter.yield(.enrolled(user: user, deviceID: String(line.split(separator: " ")[2])))
                            }
                        }
                    }
                }
            }
            reporter.yield(.enrollmentsEnded)
        }
    }

    /// An Access-Request with the code alone as User-Password (a `second-factor-only` client).
    static func codeRequest(_ user: String, _ code: String, identifier: UInt8) -> [UInt8] {
        let secret = Array(TestGateway.secret.utf8)
        let authenticator = SecureRandom.bytes(16)
        return RADIUSPacket.encodeRequest(
            code: .accessRequest, identifier: identifier, authenticator: authenticator,
            attributes: [
                RADIUSAttribute(type: .userName, string: user),
                RADIUSAttribute(
                    type: .userPassword,
                    value: RADIUSUserPassword.hide(Array(code.utf8), secret: secret, requestAuthenticator: authenticator)),
            ],
            secret: secret)
    }
}
