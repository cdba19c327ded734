import Crypto
import DeviceProtocol
import Foundation
import MFACore
import Testing

@testable import SQLiteStore

@Suite struct PushStoreTests {
    let store: SQLiteStore
    let now = Date(timeIntervalSince1970: 1_700_000_000)

    init() async throws {
        store = try SQLiteStore.inMemory()
        try await store.addUser("alice", passwordHash: nil)
    }

    func device(_ id: String = "dev-1", user: String = "alice") -> EnrolledDevice {
        EnrolledDevice(
            id: id, username: user, publicKey: DeviceCrypto.encode(P256.Signing.PrivateKey().publicKey), name: "phone",
            platform: "linux", enrolledAt: now)
    }

    @Test func anEnrollmentCodeWorksOnceAndOnlyBeforeItExpires() async throws {
        try await store.createEnrollmentCode("CODE1", for: "alice", expires: now.addingTimeInterval(600))
        #expect(try await store.redeemEnrollmentCode("CODE1", now: now) == "alice")
        #expect(try await store.redeemEnrollmentCode("CODE1", now: now) == nil)

        try await store.createEnrollmentCode("CODE2", for: "alice", expires: now.addingTimeInterval(600))
        #expect(try await store.redeemEnrollmentCode("CODE2", now: now.addingTimeInterval(600)) == nil)
        // An expired code is used up too.
        #expect(try await store.redeemEnrollmentCode("CODE2", now: now) == nil)
        #expect(try await store.redeemEnrollmentCode("NEVER", now: now) == nil)
    }

    /// The v5 columns: a device's WebAuthn credential comes back with it, from every read; without one, nil.
    @Test func aDeviceKeepsItsWebAuthnCredential() async throws {
        try await store.addUser("bob", passwordHash: nil)
        var verified = device("dev-1")
        verified.webAuthn = WebAuthnCredential(id: "AQID", publicKey: DeviceCrypto.encode(P256.Signing.PrivateKey().publicKey))
        try await store.addDevice(verified)
        try await store.addDevice(device("dev-2", user: "bob"))
        #expect(try await store.device(id: "dev-1")?.webAuthn == verified.webAuthn)
        #expect(try await store.device(forUser: "alice")?.webAuthn == verified.webAuthn)
        #expect(try await store.credentials(for: "alice")?.device?.webAuthn == verified.webAuthn)
        #expect(try await store.device(id: "dev-2")?.webAuthn == nil)
    }

    @Test func oneDevicePerUser() async throws {
        try await store.addDevice(device())
        await #expect(throws: StoreError(.alreadyEnrolled, "")) { try await store.addDevice(device("dev-2")) }
        await #expect(throws: StoreError(.alreadyEnrolled, "")) {
            try await store.createEnrollmentCode("CODE", for: "alice", expires: now.addingTimeInterval(600))
        }
        #expect(try await store.device(forUser: "alice")?.id == "dev-1")
        #expect(try await store.credentials(for: "alice")?.device?.id == "dev-1")
        #expect(try await store.user("alice")?.device?.name == "phone")
        try await store.deleteDevice(forUser: "alice")
        #expect(try await store.device(id: "dev-1") == nil)
        await #expect(throws: StoreError(.notEnrolled, "")) { try await store.deleteDevice(forUser: "alice") }
        try await store.addDevice(device("dev-2"))
    }

    @Test func deletingAUserDeletesItsDevice() async throws {
        try await store.addDevice(device())
        try await store.deleteUser("alice")
        #expect(try await store.device(id: "dev-1") == nil)
    }

    @Test func lastUsedIsRecorded() async throws {
        try await store.addDevice(device())
        #expect(try await store.device(id: "dev-1")?.lastUsed == nil)
        try await store.touchDevice(id: "dev-1", at: now.addingTimeInterval(5))
        #expect(try await store.device(id: "dev-1")?.lastUsed == now.addingTimeInterval(5))
    }

    @Test func theServerKeyIsMadeOnceAndKept() async throws {
        let first = try await store.serverSigningKey()
        let second = try await store.serverSigningKey()
        #expect(first.rawRepresentation == second.rawRepresentation)
    }

    @Test func pushCanBeTurnedOffAndOn() async throws {
        #expect(try await store.isPushEnabled())
        try await store.addDevice(device())
        try await store.addUser("bob", passwordHash: nil)
        try await store.enrollTOTP(.generate(), for: "bob")
        try await store.setPushEnabled(false)
        #expect(try await store.isPushEnabled() == false)
        #expect(try await store.pushOnlyUsers() == ["alice"])
        try await store.setPushEnabled(true)
        #expect(try await store.isPushEnabled())
    }
}
