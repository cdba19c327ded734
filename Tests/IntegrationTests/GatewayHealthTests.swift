import CountersignApp
import CountersignConfig
import Foundation
import GRDB
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// `/healthz`, `/readyz`, and what systemd hears on `$NOTIFY_SOCKET`.
@Suite struct GatewayHealthTests {
    /// curl's body and HTTP status for one GET.
    static func get(_ url: String) async throws -> (body: String, status: Int) {
        let result = try await HTTPSGatewayTests.curl(["-w", "\n%{http_code}", url])
        return (result.output.dropLast().joined(separator: "\n"), Int(result.output.last ?? "") ?? 0)
    }

    @Test func readinessFailsWhileTheStoreIsGoneOrLockedAndRecovers() async throws {
        try await TestGateway.with { gateway in
            let readyz = "http://127.0.0.1:\(gateway.httpPort)/readyz"
            #expect(try await Self.get("http://127.0.0.1:\(gateway.httpPort)/healthz") == (#"{"status":"ok"}"#, 200))
            #expect(try await Self.get(readyz) == (#"{"ready":true,"status":"ok"}"#, 200))

            // Moved away: the open connections would go on writing into a file nobody will open again.
            let database = gateway.directory + "/countersign.db"
            try FileManager.default.moveItem(atPath: database, toPath: database + ".moved")
            let gone = try await Self.get(readyz)
            #expect(gone.status == 503)
            #expect(gone.body == #"{"problems":["store: database file \#(database) is gone"],"ready":false,"status":"unavailable"}"#)
            try FileManager.default.moveItem(atPath: database + ".moved", toPath: database)
            #expect(try await Self.get(readyz).status == 200)

            // Another process holds the write lock: logins could not record their codes.
            var holding = Configuration()
            holding.allowsUnsafeTransactions = true
            let other = try DatabaseQueue(path: database, configuration: holding)
            try other.inDatabase { try $0.execute(sql: "BEGIN IMMEDIATE") }
            let problems = await gateway.gateway.probe.readinessProblems()
            #expect(problems.count == 1)
            #expect(problems.first?.hasPrefix("store: ") == true && problems.first?.contains("database is locked") == true, "\(problems)")
            #expect(try await Self.get(readyz).status == 503)
            try other.inDatabase { try $0.execute(sql: "ROLLBACK") }
            #expect(await gateway.gateway.probe.readinessProblems() == [])
        }
    }

    @Test func anUnreachableDirectoryIsReported() async throws {
        // A port nothing listens on: the proxy's directory is down.
        let port = try ServeProcessTests.Installation.freePort()
        var ldap = LDAPSettings(listen: ListenAddress(host: "127.0.0.1", port: 0))
        ldap.upstream = LDAPUpstreamSettings(url: "ldap://127.0.0.1:\(port)")
        try await TestGateway.with(ldap: ldap) { gateway in
            let problems = await gateway.gateway.probe.readinessProblems()
            #expect(problems.count == 1)
            #expect(problems.first?.hasPrefix("directory: 127.0.0.1:\(port) unreachable") == true, "\(problems)")
        }
    }

    @Test func systemdHearsReadyOnceEveryListenerIsBoundThenStopping() async throws {
        let socket = try NotifySocket()
        defer { socket.close() }
        var environment = ProcessInfo.processInfo.environment
        environment["NOTIFY_SOCKET"] = socket.path
        try await TestGateway.with(environment: environment) { gateway in
            let ready = try await socket.receive()
            #expect(ready == "READY=1\nSTATUS=serving")
            #expect(await gateway.gateway.probe.readinessProblems() == [])
        }
        #expect(try await socket.receive() == "STOPPING=1")
    }

    @Test(arguments: [false, true]) func theNotifierReachesPathAndAbstractSockets(abstract: Bool) async throws {
        let socket = try NotifySocket(abstract: abstract)
        defer { socket.close() }
        #expect(socket.path.hasPrefix("@") == abstract)
        #expect(SystemdNotifier(environment: ["NOTIFY_SOCKET": socket.path]).notify("READY=1"))
        #expect(try await socket.receive() == "READY=1")
        // Not started by systemd: nothing to tell, nothing fails.
        #expect(SystemdNotifier(environment: [:]).notify("READY=1"))
    }
}

/// A datagram socket standing in for systemd's notification socket.
final class NotifySocket: Sendable {
    let fd: Int32
    /// As `$NOTIFY_SOCKET` names it: a path, or '@' and an abstract name.
    let path: String

    init(abstract: Bool = false) throws {
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        guard fd >= 0 else { throw POSIXError(.EIO) }
        let name = abstract ? "@countersign-test-\(UUID())" : NSTemporaryDirectory() + "countersign-notify-\(UUID().uuidString.prefix(8))"
        path = name
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        var bytes = Array(name.utf8)
        if abstract { bytes[0] = 0 }
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes) }
        let length = socklen_t(MemoryLayout.offset(of: \sockaddr_un.sun_path)! + bytes.count + (abstract ? 0 : 1))
        let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
        guard bound == 0 else { throw POSIXError(.EADDRINUSE) }
        TestTimeout.setReceiveTimeout(fd, 30)
    }

    /// The next datagram, as text; fails after the receive timeout.
    func receive() async throws -> String {
        let fd = self.fd
        return try await offCooperativePool {
            var buffer = [UInt8](repeating: 0, count: 4096)
            let count = recv(fd, &buffer, buffer.count, 0)
            guard count >= 0 else { throw POSIXError(.ETIMEDOUT) }
            return String(decoding: buffer[..<count], as: UTF8.self)
        }
    }

    func close() {
        Glibc.close(fd)
        if !path.hasPrefix("@") { unlink(path) }
    }
}
