import CountersignApp
import CountersignConfig
import Foundation
import Logging
import MFACore

/// A whole gateway on 127.0.0.1 and ::1 with port 0, its own store in a temporary folder, and the admin
/// operations on the same store, as `countersign serve` builds it.
struct TestGateway {
    let gateway: CountersignGateway
    let admin: CountersignAdmin
    let ipv4Port: Int
    let ipv6Port: Int
    let httpPort: Int
    /// A folder for the test's own files (device keystores), removed afterwards.
    let directory: String
    /// The gateway's clock: the system's unless the test brought a `ManualWallClock`.
    let clock: any WallClock

    static let secret = "testing123"
    static let hasher = PasswordHasher(cost: .testing)

    static func defaultClients(mode: RADIUSClientMode = .auto, requireMessageAuthenticator: Bool = true) -> [RADIUSClientSettings] {
        [
            RADIUSClientSettings(
                name: "local", network: IPNetwork("127.0.0.1/32")!, secret: secret,
                requireMessageAuthenticator: requireMessageAuthenticator, mode: mode),
            RADIUSClientSettings(
                name: "local6", network: IPNetwork("::1/128")!, secret: secret,
                requireMessageAuthenticator: requireMessageAuthenticator, mode: mode),
        ]
    }

    /// Starts a gateway, runs `body`, then stops it (also when `body` throws).
    static func with(
        clients: [RADIUSClientSettings] = defaultClients(), unenrolled: UnenrolledPolicy = .deny,
        push: PushSettings = PushSettings(), resources: [AuthAPIResource] = [], ldap: LDAPSettings = LDAPSettings(),
        primary: PrimarySettings = PrimarySettings(), lockout: LockoutSettings = LockoutSettings(),
        clientFailureRate: Int = RADIUSSettings.defaultClientFailureRate,
        clientFailureBurst: Int = RADIUSSettings.defaultClientFailureBurst,
        maxQueueWait: Double = RADIUSSettings.defaultMaxQueueWait, replyRules: [RADIUSReplyRule] = [],
        clock: any WallClock = SystemWallClock(),
        hasher: PasswordHasher = TestGateway.hasher, radiusPort: Int = 0, httpsWith tls: TestCertificateAuthority? = nil,
        publicURL: String = HTTPSettings.defaultPublicURL,
        environment: [String: String] = ProcessInfo.processInfo.environment, metrics: MetricsSettings = MetricsSettings(),
        store: StoreSettings? = nil, portal: PortalSettings = PortalSettings(), _ body: (TestGateway) async throws -> Void
    ) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("countersign-test-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let configuration = CountersignConfiguration(
            store: store ?? StoreSettings(path: directory + "/countersign.db"),
            radius: RADIUSSettings(
                listen: [ListenAddress(host: "127.0.0.1", port: radiusPort), ListenAddress(host: "::1", port: 0)],
                clientFailureRate: clientFailureRate, clientFailureBurst: clientFailureBurst, maxQueueWait: maxQueueWait,
                clients: clients, replyRules: replyRules),
            mfa: MFASettings(unenrolled: unenrolled), totp: TOTPSettings(), log: LogSettings(level: .warning),
            http: HTTPSettings(
                listen: ListenAddress(host: "127.0.0.1", port: 0), publicURL: publicURL, resources: resources, certificatePath: tls?.certificatePath,
                privateKeyPath: tls?.privateKeyPath),
            push: push,
            ldap: ldap, primary: primary, lockout: lockout, metrics: metrics, portal: portal)
        var logger = Logger(label: "countersign-test")
        logger.logLevel = ProcessInfo.processInfo.environment["COUNTERSIGN_TEST_LOG"].flatMap(Logger.Level.init(rawValue:)) ?? .warning
        let gateway = try await CountersignGateway(
            configuration: configuration, clock: clock, hasher: hasher, handlingSignals: false, logger: logger,
            environment: environment)
        let bound = try await gateway.bind()
        let serving = Task { try await gateway.run() }
        let httpPort = await gateway.http.port()
        let test = TestGateway(
            gateway: gateway,
            admin: CountersignAdmin(
                store: gateway.store, issuer: "Countersign", publicURL: "\(tls == nil ? "http" : "https")://127.0.0.1:\(httpPort)",
                hasher: hasher,
                logger: logger),
            ipv4Port: bound[0].port, ipv6Port: bound[1].port, httpPort: httpPort, directory: directory, clock: clock)
        do {
            try await body(test)
        } catch {
            await gateway.shutdown()
            _ = await serving.result
            throw error
        }
        await gateway.shutdown()
        try await serving.value
    }

    func radclient(secret: String = TestGateway.secret, ipv6: Bool = false, timeout: Double = 5) -> Radclient {
        Radclient(server: ipv6 ? "[::1]:\(ipv6Port)" : "127.0.0.1:\(ipv4Port)", secret: secret, timeout: timeout)
    }

    /// Adds a user with a password and, unless `totp` is false, a TOTP enrollment; returns the secret.
    @discardableResult
    func addUser(_ name: String, password: String, totp: Bool = true) async throws -> [UInt8] {
        try await admin.addUser(name, password: password)
        guard totp else { return [] }
        return Base32.decode(try await admin.enrollTOTP(name).secret)!
    }

    func code(_ secret: [UInt8], stepOffset: Int64 = 0) -> String {
        let step = TOTPParameters.standard.step(at: clock.now()) + stepOffset
        return OneTimeCode.hotp(secret: secret, counter: UInt64(step), digits: 6)
    }

    /// A six-digit code that is none of the codes valid around now.
    func wrongCode(_ secret: [UInt8]) -> String {
        let valid = Set((-2...2).map { code(secret, stepOffset: Int64($0)) })
        return (0...9).lazy.map { String(repeating: "\($0)", count: 6) }.first { !valid.contains($0) }!
    }

    /// Enrolls a push device for `user` with the real `countersign-device`; returns its keystore path.
    func enrollDevice(_ user: String) async throws -> String {
        let uri = try await admin.enrollDevice(user).uri
        let keystore = directory + "/\(user)-keystore.json"
        let enroll = try ChildProcess(ChildProcess.builtProduct("countersign-device"), ["enroll", uri, "--keystore", keystore, "--name", "test-phone"])
        let status = try await enroll.exitStatus()
        guard status == 0 else { throw EnrollmentFailed(output: enroll.output) }
        return keystore
    }

    struct EnrollmentFailed: Error { var output: [String] }

    /// `countersign-device listen` with `mode` (`--approve`, `--deny` or `--ask`).
    func listen(_ keystore: String, _ mode: String, count: Int? = nil) throws -> ChildProcess {
        try ChildProcess(
            ChildProcess.builtProduct("countersign-device"),
            ["listen", "--keystore", keystore, mode] + (count.map { ["--count", "\($0)"] } ?? []))
    }

    func events(_ type: AuditEventType? = nil) async throws -> [AuditEvent] {
        try await gateway.store.events(type: type?.rawValue).map(\.event)
    }
}
