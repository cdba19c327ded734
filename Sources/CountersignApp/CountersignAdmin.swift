import CountersignConfig
import CountersignStore
import Foundation
import Logging
import MFACore

/// The admin operations behind `countersign user …`, `totp …` and `events`, each leaving an audit event.
public struct CountersignAdmin: Sendable {
    public let store: CountersignStore
    private let hasher: PasswordHasher
    private let issuer: String
    private let audit: AuditRecorder
    private let clock: any WallClock

    public init(
        configuration: CountersignConfiguration, hasher: PasswordHasher = PasswordHasher(),
        clock: any WallClock = SystemWallClock(), logger: Logger = Logger(label: "countersign.admin")
    ) throws {
        let store = try CountersignStore.open(path: configuration.store.path, keyPath: configuration.store.keyPath)
        self.init(store: store, issuer: configuration.totp.issuer, hasher: hasher, clock: clock, logger: logger)
    }

    public init(
        store: CountersignStore, issuer: String, hasher: PasswordHasher = PasswordHasher(),
        clock: any WallClock = SystemWallClock(), logger: Logger = Logger(label: "countersign.admin")
    ) {
        self.store = store
        self.hasher = hasher
        self.issuer = issuer
        self.clock = clock
        self.audit = AuditRecorder(store: store, logger: logger)
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

    private func recordAdmin(_ type: AuditEventType, user: String) async {
        await audit.record(AuditEvent(time: clock.now(), type: type, user: user, resource: "admin:cli", result: .success))
    }
}
