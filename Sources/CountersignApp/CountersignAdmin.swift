import CountersignConfig
import DeviceProtocol
import Foundation
import Logging
import MFACore

/// The admin operations behind `countersign user …`, `totp …` and `events`, each leaving an audit event.
public struct CountersignAdmin: Sendable {
    public let store: any GatewayStore
    /// Who acts, the resource of each event: `admin:cli` for the commands, `admin:web:NAME` for the console.
    public private(set) var actor = "admin:cli"
    let hasher: PasswordHasher
    private let issuer: String
    let publicURL: String
    let audit: AuditRecorder
    let clock: any WallClock

    public init(
        configuration: CountersignConfiguration, hasher: PasswordHasher = PasswordHasher(),
        clock: any WallClock = SystemWallClock(), logger: Logger = Logger(label: "countersign.admin"),
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws {
        let store = try StoreOpener.open(configuration.store, environment: environment)
        self.init(
            store: store, issuer: configuration.totp.issuer, publicURL: configuration.http.publicURL, hasher: hasher,
            clock: clock, node: configuration.node.name, logger: logger)
    }

    public init(
        store: any GatewayStore, issuer: String, publicURL: String, hasher: PasswordHasher = PasswordHasher(),
        clock: any WallClock = SystemWallClock(), node: String = NodeSettings.defaultName,
        logger: Logger = Logger(label: "countersign.admin")
    ) {
        self.store = store
        self.hasher = hasher
        self.issuer = issuer
        self.publicURL = publicURL
        self.clock = clock
        self.audit = AuditRecorder(store: store, node: node, logger: logger, queued: false)
    }

    /// The same operations, their events naming `actor` (`admin:web:NAME`).
    public func acting(as actor: String) -> CountersignAdmin {
        var admin = self
        admin.actor = actor
        return admin
    }

    public func addUser(_ name: String, password: String?) async throws {
        let hash = try password.map { try hasher.hash($0) }
        try await store.addUser(name, passwordHash: hash, at: clock.now())
        await recordAdmin(.userAdded, user: name)
    }

    public func setPassword(_ name: String, password: String) async throws {
        try await store.setPasswordHash(try hasher.hash(password), for: name)
        await recordAdmin(.passwordChanged, user: name)
    }

    public func deleteUser(_ name: String) async throws {
        try await store.deleteUser(name)
        await recordAdmin(.userDeleted, user: name)
    }

    /// Lifts a lockout (and the count of failures before one).
    public func unlock(_ name: String) async throws {
        try await store.unlock(name)
        await recordAdmin(.userUnlocked, user: name)
    }

    public func users() async throws -> [UserSummary] {
        try await store.users()
    }

    public func user(_ name: String) async throws -> UserSummary {
        guard let user = try await store.user(name) else { throw StoreError(.noSuchUser, "no user \(name)") }
        return user
    }

    /// A new 160-bit secret; the URI is shown once and never stored in the clear.
    public func enrollTOTP(_ name: String) async throws -> (uri: String, secret: String) {
        let enrollment = TOTPEnrollment.generate()
        try await store.enrollTOTP(enrollment, for: name, at: clock.now())
        await recordAdmin(.totpEnrolled, user: name)
        return (enrollment.uri(issuer: issuer, account: name), enrollment.base32Secret)
    }

    public func deleteTOTP(_ name: String) async throws {
        try await store.deleteTOTP(for: name)
        await recordAdmin(.totpDeleted, user: name)
    }

    /// A single-use enrollment URI (code valid 10 minutes) with the server URL and the server key's fingerprint.
    public func enrollDevice(_ name: String) async throws -> EnrollmentURI {
        let serverKey = DeviceCrypto.encode(try await store.serverSigningKey().publicKey)
        let code = try await DeviceEnrollment(store: store, clock: clock).issueCode(for: name)
        return EnrollmentURI(serverURL: publicURL, code: code, fingerprint: DeviceCrypto.fingerprint(of: serverKey) ?? "")
    }

    public func deleteDevice(_ name: String) async throws {
        try await store.deleteDevice(forUser: name)
        await recordAdmin(.deviceDeleted, user: name)
    }

    /// Turns push on or off for the whole gateway; returns the users whose only factor is push.
    public func setPushProtection(enabled: Bool) async throws -> [String] {
        try await store.setPushEnabled(enabled)
        await audit.record(
            AuditEvent(
                time: clock.now(), type: .pushProtectionChanged, user: nil, resource: actor, result: .success,
                details: ["enabled": "\(enabled)"]))
        return try await store.pushOnlyUsers()
    }

    // MARK: Console admins

    /// An admin account of the console; TOTP is set up at its first sign-in. The event names the account as its user.
    public func addAdmin(_ name: String, password: String) async throws {
        try await store.addAdmin(name, passwordHash: try hasher.hash(password), at: clock.now())
        await recordAdmin(.adminAdded, user: name)
    }

    public func deleteAdmin(_ name: String) async throws {
        try await store.deleteAdmin(name)
        await recordAdmin(.adminDeleted, user: name)
    }

    public func admins() async throws -> [AdminSummary] {
        try await store.admins()
    }

    func recordAdmin(_ type: AuditEventType, user: String) async {
        await audit.record(AuditEvent(time: clock.now(), type: type, user: user, resource: actor, result: .success))
    }
}
