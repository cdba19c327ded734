import CountersignApp
import CountersignConfig
import Crypto
import Foundation
import MFACore
import SQLiteStore
import Testing

/// `countersign store copy`: everything of one store into an empty one, and nothing into one that is not.
@Suite struct StoreCopyTests {
    typealias Installation = ServeProcessTests.Installation

    /// Users and the console's admins with their sealed secrets, used codes and locks, devices, invitations, the signing
    /// key and events come through: a code used before the copy stays used, a new one is accepted, the device's server
    /// key is the same, and an invitation is redeemed once.
    @Test func everythingComesThroughAndSecretsStillOpen() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("countersign-copy-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let environment = [SecretBox.keyVariable: Data(SymmetricKey(size: .bits256).withUnsafeBytes { Array($0) }).base64EncodedString()]
        let source = try SQLiteStore.open(path: folder + "/a.db", keyPath: folder + "/a.key", environment: environment)
        let target = try SQLiteStore.open(path: folder + "/b.db", keyPath: folder + "/b.key", environment: environment)
        try await Self.checkCopy(from: source, to: target, through: [])
    }

    /// SQLite to PostgreSQL (moving to a cluster) and back.
    @Test func aRoundTripThroughPostgreSQLKeepsEverything() async throws {
        let server = try ClusterTests.Server.fromEnvironment()
        let database = "copy_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        try await server.psql("CREATE DATABASE \(database)")
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("countersign-copy-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let environment = [
            SecretBox.keyVariable: Data(SymmetricKey(size: .bits256).withUnsafeBytes { Array($0) }).base64EncodedString(),
            PostgreSQLSettings.passwordVariable: server.password,
        ]
        let postgres = try StoreOpener.open(
            StoreSettings(
                postgresql: PostgreSQLSettings(
                    host: server.url.host!, port: server.url.port!, username: server.url.user!, database: database, tls: .disable)),
            environment: environment)
        do {
            let source = try SQLiteStore.open(path: folder + "/a.db", keyPath: folder + "/a.key", environment: environment)
            let target = try SQLiteStore.open(path: folder + "/b.db", keyPath: folder + "/b.key", environment: environment)
            try await Self.checkCopy(from: source, to: target, through: [postgres])
        } catch {
            try? await server.psql("DROP DATABASE IF EXISTS \(database) WITH (FORCE)")
            throw error
        }
        try await server.psql("DROP DATABASE IF EXISTS \(database) WITH (FORCE)")
    }

    /// Fills `source`, copies it through each store of `through` into `target`, and checks what `target` holds.
    static func checkCopy(from source: any GatewayStore, to target: any GatewayStore, through: [any GatewayStore]) async throws {

        let secret = SecureRandom.bytes(20)
        try await source.addUser("alice", passwordHash: "$scrypt$hash")
        try await source.enrollTOTP(TOTPEnrollment(secret: secret, parameters: .standard), for: "alice")
        #expect(try await source.recordAcceptedTOTPStep(1000, for: "alice"))
        try await source.addUser("bob", passwordHash: nil)
        _ = try await source.recordFailure(for: "bob", now: Date(), policy: LockoutPolicy(maxFailures: 1))
        let device = EnrolledDevice(id: "dev-1", username: "bob", publicKey: "key", name: "phone", platform: "ios",
            enrolledAt: Date(timeIntervalSince1970: 1_700_000_000))
        try await source.addDevice(device)
        let serverKey = try await source.serverSigningKey()
        try await source.append([AuditEvent(time: Date(), type: .userAdded, user: "alice", result: .success, node: "a")])
        try await source.createInvitation("INVITE-BOB", for: "bob", expires: Date() + 600)
        // An admin whose TOTP is confirmed (a code accepted), locked by a wrong one.
        let adminTOTP = TOTPEnrollment(secret: SecureRandom.bytes(20), parameters: .standard)
        try await source.addAdmin("root", passwordHash: "$scrypt$admin", at: Date())
        try await source.setUnconfirmedAdminTOTP(adminTOTP, for: "root")
        #expect(try await source.recordAdminTOTPStep(500, for: "root"))
        #expect(try await source.recordAdminFailure(for: "root", now: Date(), policy: LockoutPolicy(maxFailures: 1)))

        var from = source
        for store in through + [target] {
            #expect(
                try await StoreCopy.copy(from: from, to: store) == StoreCopySummary(users: 2, devices: 1, admins: 1, invitations: 1))
            from = store
        }
        #expect(try await records(of: target) == records(of: source))
        #expect(try await target.users().map(\.name) == ["alice", "bob"])
        #expect(try await target.credentials(for: "alice")?.totp?.secret == secret)
        #expect(try await target.credentials(for: "alice")?.passwordHash == "$scrypt$hash")
        #expect(try await !target.recordAcceptedTOTPStep(1000, for: "alice"))
        #expect(try await target.recordAcceptedTOTPStep(1001, for: "alice"))
        #expect(try await target.credentials(for: "bob")?.lockedUntil != nil)
        let copiedDevice = try await target.device(forUser: "bob")
        #expect(copiedDevice == device, "\(String(describing: copiedDevice)) != \(device)")
        #expect(try await target.serverSigningKey().rawRepresentation == serverKey.rawRepresentation)
        #expect(try await target.events(type: "user_added").map(\.event.node) == ["a"])
        let admin = try #require(try await target.adminAccount("root"))
        #expect(admin.passwordHash == "$scrypt$admin" && admin.totpConfirmed && admin.lockedUntil != nil)
        #expect(admin.totp?.secret == adminTOTP.secret && admin.totp?.parameters == adminTOTP.parameters)
        #expect(try await !target.recordAdminTOTPStep(500, for: "root"))
        #expect(try await target.recordAdminTOTPStep(501, for: "root"))
        #expect(try await target.redeemInvitation("INVITE-BOB", now: Date()) == "bob")
        #expect(try await target.redeemInvitation("INVITE-BOB", now: Date()) == nil)

        // Not into a store that holds something.
        for store in through + [target] {
            await #expect(throws: StoreError(.storeNotEmpty, "")) { try await StoreCopy.copy(from: source, to: store) }
        }
    }

    /// Every record of `store`, in the order `store copy` moves them.
    static func records(of store: any GatewayStore) async throws -> [StoreRecord] {
        var records: [StoreRecord] = []
        try await store.forEachRecord { records.append($0) }
        return records
    }

    @Test func theCommandCopiesIntoAnotherConfigurationsStoreWithTheSameKeyOnly() async throws {
        let from = try Installation()
        let to = try Installation()
        let other = try Installation()
        defer { from.remove(); to.remove(); other.remove() }
        _ = try await from.cli(["user", "add", "alice"])
        _ = try await from.cli(["admin", "add", "root", "--password-stdin"], input: "admin pw\n")
        // The target's key file must be the source's.
        try FileManager.default.copyItem(atPath: from.folder + "/countersign.db.key", toPath: to.folder + "/countersign.db.key")
        let copied = try await from.cli(["store", "copy", "--to", to.config])
        #expect(copied.contains("copied 1 users, 1 admins and 0 devices into the store of \(to.config)"), "\(copied)")
        #expect(try await to.cli(["user", "list"]).contains { $0.contains("alice") })
        #expect(try await to.cli(["admin", "list"]).contains { $0.hasPrefix("root\t") })

        let refused = try await OperationsCommandTests.countersign(["store", "copy", "--to", other.config, "--config", from.config])
        #expect(refused.status != 0)
        #expect(refused.output.contains { $0.contains("different keys") }, "\(refused.output)")
    }
}
