import CountersignConfig
import Foundation
import MFACore
import Testing

@testable import LDAPProxy

#if canImport(Glibc)
import Glibc
#endif

/// The LDAP bind proxy between OpenLDAP's clients (ldapwhoami, ldapsearch) and a real slapd.
@Suite struct LDAPProxyTests {
    static func ldapSettings(_ directory: TestDirectory) -> LDAPSettings {
        LDAPSettings(
            listen: ListenAddress(host: "127.0.0.1", port: 0), ldapsListen: ListenAddress(host: "127.0.0.1", port: 0),
            certificatePath: directory.certificatePath, privateKeyPath: directory.privateKeyPath,
            upstream: LDAPUpstreamSettings(url: directory.url),
            exempt: ["ou=services,dc=example,dc=org"])
    }

    /// A slapd, and a gateway whose LDAP proxy points at it.
    static func withProxy(
        push: PushSettings = PushSettings(), lockout: LockoutSettings = LockoutSettings(), clock: any WallClock = SystemWallClock(),
        configure: (inout LDAPSettings) -> Void = { _ in },
        _ body: (TestGateway, TestDirectory, _ plain: String, _ tls: String) async throws -> Void
    ) async throws {
        try await TestDirectory.with { directory in
            var ldap = ldapSettings(directory)
            configure(&ldap)
            try await TestGateway.with(push: push, ldap: ldap, lockout: lockout, clock: clock) { gateway in
                let (plain, tls) = try await #require(gateway.gateway.ldap).bind()
                try await body(gateway, directory, "ldap://127.0.0.1:\(plain?.port ?? 0)", "ldaps://localhost:\(tls?.port ?? 0)")
            }
        }
    }

    @Test func passwordAndCodeBindThenSearchPassesThrough() async throws {
        try await Self.withProxy { gateway, directory, proxy, _ in
            let secret = try await gateway.addLocalUser("alice")
            let result = try await LDAPTool.run(
                "ldapsearch",
                ["-x", "-H", proxy, "-D", TestDirectory.userDN("alice"), "-w", "alice-pw,\(gateway.code(secret))",
                 "-b", TestDirectory.base, "-LLL", "(uid=bob)", "dn"])
            #expect(result.status == 0, "\(result.output)")
            #expect(result.output.contains("dn: uid=bob,ou=people,dc=example,dc=org"))
            let events = try await gateway.events(.ldapBind)
            #expect(events.count == 1 && events[0].result == .success && events[0].user == "alice")
        }
    }

    @Test func wrongPasswordWrongCodeReplayedCodeAndEmptyPassword() async throws {
        try await Self.withProxy { gateway, directory, proxy, _ in
            let secret = try await gateway.addLocalUser("alice")
            let dn = TestDirectory.userDN("alice")
            let code = gateway.code(secret)
            #expect(try await LDAPTool.whoami(proxy, dn: dn, password: "nope,\(code)").status == 49)
            #expect(try await LDAPTool.whoami(proxy, dn: dn, password: "alice-pw,\(gateway.wrongCode(secret))").status == 49)
            // The code was checked, and its use recorded, while slapd refused the password: given back, it still works.
            #expect(try await LDAPTool.whoami(proxy, dn: dn, password: "alice-pw,\(code)").status == 0)
            let replayed = try await LDAPTool.whoami(proxy, dn: dn, password: "alice-pw,\(code)")
            #expect(replayed.status == 49)
            #expect(replayed.output.joined().contains("Invalid verification code"))
            // RFC 4513 §5.1.2: a DN with an empty password is never a success.
            #expect(try await LDAPTool.whoami(proxy, dn: dn, password: "").status == 53)
            // An empty DN with a password.
            #expect(try await LDAPTool.run("ldapwhoami", ["-x", "-H", proxy, "-D", "", "-w", "x"]).status == 49)
        }
    }

    @Test func pushApprovedAndDenied() async throws {
        try await Self.withProxy { gateway, directory, proxy, _ in
            try await gateway.admin.addUser("bob", password: nil)
            let keystore = try await gateway.enrollDevice("bob")
            let approve = try gateway.listen(keystore, "--approve", count: 1)
            defer { approve.terminate() }
            #expect(try await LDAPTool.whoami(proxy, dn: TestDirectory.userDN("bob"), password: "bob-pw").status == 0)
            #expect(try await approve.exitStatus() == 0)

            let deny = try gateway.listen(keystore, "--deny", count: 1)
            defer { deny.terminate() }
            let denied = try await LDAPTool.whoami(proxy, dn: TestDirectory.userDN("bob"), password: "bob-pw,push")
            #expect(denied.status == 49)
            #expect(denied.output.joined().contains("Push denied"))
        }
    }

    /// The directory's refusals count towards the user's lockout like any wrong password: through the MFA core, one
    /// event each.
    @Test func wrongDirectoryPasswordsLockTheUser() async throws {
        try await Self.withProxy(lockout: LockoutSettings(maxFailures: 3)) { gateway, directory, proxy, _ in
            let secret = try await gateway.addLocalUser("alice")
            let dn = TestDirectory.userDN("alice")
            for _ in 0..<3 {
                let wrong = try await LDAPTool.whoami(proxy, dn: dn, password: "wrong,123456")
                #expect(wrong.status == 49)
                #expect(wrong.output.joined().contains("Wrong username or password"), "\(wrong.output)")
            }
            // The right password and a valid code: locked all the same.
            let locked = try await LDAPTool.whoami(proxy, dn: dn, password: "alice-pw,\(gateway.code(secret))")
            #expect(locked.status == 49)
            #expect(locked.output.joined().contains("Account locked after too many failed attempts, try again later"), "\(locked.output)")
            #expect(try await gateway.admin.user("alice").lockedUntil != nil)
            #expect(try await gateway.events(.userLocked).count == 1)

            let binds = try await gateway.events(.ldapBind)
            #expect(binds.count == 4, "\(binds)")
            #expect(binds.allSatisfy { $0.user == "alice" && $0.result == .failure && $0.clientAddress == "127.0.0.1" })
            #expect(binds.filter { $0.error == RejectReason.invalidCredentials.rawValue }.count == 3)
            #expect(binds.filter { $0.error == RejectReason.locked.rawValue }.count == 1)
        }
    }

    /// One address sending wrong passwords is refused before the directory is asked, with one event per episode.
    @Test func aFloodOfWrongPasswordsFromOneAddressIsRateLimited() async throws {
        let clock = ManualWallClock(Date())
        try await Self.withProxy(clock: clock, configure: { $0.clientFailureRate = 1; $0.clientFailureBurst = 3 }) {
            gateway, directory, proxy, _ in
            let secret = try await gateway.addLocalUser("alice")
            for guess in 1...3 {
                let wrong = try await LDAPTool.whoami(proxy, dn: TestDirectory.userDN("mallory\(guess)"), password: "guess,123456")
                #expect(wrong.status == 49)
                #expect(wrong.output.joined().contains("Wrong username or password"), "\(wrong.output)")
            }
            for _ in 0..<5 {
                let refused = try await LDAPTool.whoami(
                    proxy, dn: TestDirectory.userDN("alice"), password: "alice-pw,\(gateway.code(secret))")
                #expect(refused.status == 49)
                #expect(refused.output.joined().contains("Too many failed attempts, try again later"), "\(refused.output)")
            }
            let limited = try await gateway.events(.clientRateLimited)
            #expect(limited.count == 1)
            #expect(limited.first?.clientAddress == "127.0.0.1")
            #expect(limited.first?.resource == "ldap:127.0.0.1")
            // Refused undecided: no bind event for alice, and each refusal reported with the drops.
            #expect(try await gateway.events(.ldapBind).filter { $0.user == "alice" }.isEmpty)
            #expect(gateway.gateway.drops.total(.rateLimited) == 5)

            // Tokens back (one a second); the next step's code.
            clock.advance(by: 30)
            let bound = try await LDAPTool.whoami(proxy, dn: TestDirectory.userDN("alice"), password: "alice-pw,\(gateway.code(secret))")
            #expect(bound.status == 0, "\(bound.output)")
            #expect(try await gateway.events(.clientRateLimited).count == 1)
        }
    }

    /// Past `ldap.max_connections`, a connection is accepted and closed at once, and counted.
    @Test func connectionsBeyondTheCapAreClosed() async throws {
        try await Self.withProxy(configure: { $0.maxConnections = 1 }) { gateway, directory, proxy, _ in
            let port = Int(proxy.split(separator: ":").last ?? "0") ?? 0
            let first = try LDAPWireClient(port: port)
            // Answered: the first connection is counted.
            first.send(MalformedLDAPTests.v2Bind)
            #expect(try first.next() != nil)
            let second = try await LDAPTool.whoami(proxy, dn: TestDirectory.serviceDN, password: "app-pw")
            #expect(second.status != 0, "\(second.output)")
            #expect(gateway.gateway.drops.total(.overloaded) == 1)
            #expect(try #require(gateway.gateway.ldap).bookkeeping.connections == 1)
        }
    }

    /// A graceful shutdown answers the binds under way (a pending push is rejected) before the listeners close.
    @Test func shutdownAnswersBindsUnderWay() async throws {
        try await Self.withProxy { gateway, directory, proxy, _ in
            try await gateway.admin.addUser("bob", password: nil)
            _ = try await gateway.enrollDevice("bob")
            let waiting = Task { try await LDAPTool.whoami(proxy, dn: TestDirectory.userDN("bob"), password: "bob-pw,push") }
            await gateway.gateway.push.waitUntil { $0.pendingCount == 1 }
            let server = try #require(gateway.gateway.ldap)
            #expect(server.bookkeeping.binds == 1)
            await gateway.gateway.shutdown()
            let answered = try await waiting.value
            #expect(answered.status == 49)
            #expect(answered.output.joined().contains("Authentication service unavailable"), "\(answered.output)")
            #expect(server.bookkeeping.binds == 0)
        }
    }

    @Test func exemptServiceAccountsBindWithoutMFA() async throws {
        try await Self.withProxy { gateway, directory, proxy, _ in
            let result = try await LDAPTool.whoami(proxy, dn: TestDirectory.serviceDN, password: "app-pw")
            #expect(result.status == 0, "\(result.output)")
            #expect(result.output.contains("dn:cn=app,ou=services,dc=example,dc=org"))
        }
    }

    @Test func startTLSAndLDAPS() async throws {
        try await Self.withProxy { gateway, directory, proxy, ldaps in
            let secret = try await gateway.addLocalUser("alice")
            let dn = TestDirectory.userDN("alice")
            let startTLS = try await LDAPTool.whoami(
                proxy.replacingOccurrences(of: "127.0.0.1", with: "localhost"), dn: dn, password: "alice-pw,\(gateway.code(secret))",
                extra: ["-ZZ"], caPath: directory.caPath)
            #expect(startTLS.status == 0, "\(startTLS.output)")
            let overTLS = try await LDAPTool.whoami(
                ldaps, dn: dn, password: "alice-pw,\(gateway.code(secret, stepOffset: 1))", caPath: directory.caPath)
            #expect(overTLS.status == 0, "\(overTLS.output)")
        }
    }

    @Test func garbageAndHugeLengthsCloseOnlyThatConnection() async throws {
        try await Self.withProxy { gateway, directory, proxy, _ in
            let port = Int(proxy.split(separator: ":").last ?? "0") ?? 0
            for garbage: [UInt8] in [Array("GET / HTTP/1.1\r\n\r\n".utf8), [0x30, 0x84, 0x80, 0x00, 0x00, 0x00, 0x02, 0x01]] {
                let reply = try await offCooperativePool { try TCPTestClient.exchange(port: port, send: garbage) }
                // A Notice of Disconnection (RFC 4511 §4.4.1) carries its OID; then the connection closes.
                #expect(reply.count > 0 && String(decoding: reply, as: UTF8.self).contains("1.3.6.1.4.1.1466.20036"))
            }
            #expect(try await LDAPTool.whoami(proxy, dn: TestDirectory.serviceDN, password: "app-pw").status == 0)
        }
    }

    /// The directory reached over LDAPS, and over StartTLS, verified against its CA.
    @Test func tlsToTheDirectory() async throws {
        try await TestDirectory.with { directory in
            let upstreams = [
                LDAPUpstreamSettings(url: directory.ldapsURL, caPath: directory.caPath),
                LDAPUpstreamSettings(url: directory.url, startTLS: true, caPath: directory.caPath),
            ]
            for upstream in upstreams {
                var ldap = Self.ldapSettings(directory)
                ldap.upstream = upstream
                try await TestGateway.with(ldap: ldap) { gateway in
                    let (plain, _) = try await #require(gateway.gateway.ldap).bind()
                    let proxy = "ldap://127.0.0.1:\(plain?.port ?? 0)"
                    let result = try await LDAPTool.whoami(proxy, dn: TestDirectory.serviceDN, password: "app-pw")
                    #expect(result.status == 0, "\(upstream.url ?? ""): \(result.output)")
                }
            }
        }
    }

    @Test func anonymousBindsOnlyWhenAllowed() async throws {
        try await TestDirectory.with { directory in
            for allowed in [false, true] {
                var ldap = Self.ldapSettings(directory)
                ldap.allowAnonymous = allowed
                try await TestGateway.with(ldap: ldap) { gateway in
                    let (plain, _) = try await #require(gateway.gateway.ldap).bind()
                    let result = try await LDAPTool.run("ldapwhoami", ["-x", "-H", "ldap://127.0.0.1:\(plain?.port ?? 0)"])
                    #expect(result.status == (allowed ? 0 : 53), "\(result.output)")
                }
            }
        }
    }

    @Test func radiusWithTheDirectoryAsPrimary() async throws {
        try await TestDirectory.with { directory in
            var ldap = LDAPSettings(upstream: LDAPUpstreamSettings(url: directory.url))
            ldap.listen = nil
            let primary = PrimarySettings(source: .ldap, bindDNTemplate: "uid={user},ou=people,dc=example,dc=org")
            try await TestGateway.with(ldap: ldap, primary: primary) { gateway in
                let secret = try await gateway.addLocalUser("alice")
                let client = gateway.radclient()
                #expect(try await client.send(RADIUSGatewayTests.login("alice", "alice-pw,\(gateway.code(secret))")).code == "Access-Accept")
                #expect(try await client.send(RADIUSGatewayTests.login("alice", "wrong,\(gateway.code(secret, stepOffset: 1))")).code == "Access-Reject")
            }
            // Search mode (as Duo's ad_client does): a service account finds the entry, then the user's bind.
            let search = PrimarySettings(
                source: .ldap, searchBase: "ou=people,dc=example,dc=org", serviceDN: TestDirectory.serviceDN, servicePassword: "app-pw")
            try await TestGateway.with(ldap: ldap, primary: search) { gateway in
                let secret = try await gateway.addLocalUser("bob")
                let client = gateway.radclient()
                #expect(try await client.send(RADIUSGatewayTests.login("bob", "bob-pw,\(gateway.code(secret))")).code == "Access-Accept")
                #expect(try await client.send(RADIUSGatewayTests.login("nobody", "x,\(gateway.code(secret))")).code == "Access-Reject")
            }
        }
    }
}

extension TestGateway {
    /// A user known to the gateway only for the second factor (the directory holds the password); TOTP enrolled.
    func addLocalUser(_ name: String) async throws -> [UInt8] {
        try await admin.addUser(name, password: nil)
        return Base32.decode(try await admin.enrollTOTP(name).secret)!
    }
}

/// Raw bytes over TCP, for input no LDAP client would send.
enum TCPTestClient {
    /// Sends `bytes`, then reads until the server closes (or 5 s pass).
    static func exchange(port: Int, send bytes: [UInt8]) throws -> [UInt8] {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw POSIXError(.EIO) }
        defer { close(fd) }
        TestTimeout.setReceiveTimeout(fd, 5)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        inet_pton(AF_INET, "127.0.0.1", &address.sin_addr)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw POSIXError(.ECONNREFUSED) }
        _ = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, 0) }
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = recv(fd, &buffer, buffer.count, 0)
            if count <= 0 { break }
            received += buffer[..<count]
        }
        return received
    }
}
