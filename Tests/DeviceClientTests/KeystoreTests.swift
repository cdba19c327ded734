import Crypto
import DeviceProtocol
import Foundation
import Testing

@testable import DeviceClient

@Suite struct KeystoreTests {
    func sample() -> DeviceKeystore {
        DeviceKeystore(
            serverURL: "https://mfa.example.com", deviceID: "dev-1", user: "alice", signingKey: P256.Signing.PrivateKey(),
            serverPublicKey: DeviceCrypto.encode(P256.Signing.PrivateKey().publicKey))
    }

    @Test func saveLoadRoundTrip() throws {
        let dir = try Fixture.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/keystore.json"
        let keystore = sample()
        try keystore.save(to: path)
        let loaded = try DeviceKeystore.load(from: path)
        #expect(loaded == keystore)
        #expect(loaded.signingKey()?.rawRepresentation == keystore.signingKey()?.rawRepresentation)
        // Only the keystore is left in the folder: the temporary file is gone.
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["keystore.json"])
        // The JSON uses snake_case keys.
        let object = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any]
        #expect(Set(object?.keys.map { $0 } ?? []) == ["server_url", "device_id", "user", "private_key", "server_public_key"])
    }

    @Test func fileIsMode0600AndFolder0700() throws {
        let dir = try Fixture.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/nested/deeper/keystore.json"
        try sample().save(to: path)
        #expect(try Fixture.mode(of: path) == 0o600)
        #expect(try Fixture.mode(of: dir + "/nested/deeper") == 0o700)
        #expect(DeviceKeystore.permissionWarning(path: path) == nil)
        chmod(path, 0o644)
        #expect(DeviceKeystore.permissionWarning(path: path) != nil)
    }

    @Test func refusesToOverwriteUnlessForced() throws {
        let dir = try Fixture.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/keystore.json"
        let first = sample()
        try first.save(to: path)
        let second = sample()
        #expect(throws: DeviceClientError.keystoreExists(path: path)) { try second.save(to: path) }
        #expect(try DeviceKeystore.load(from: path) == first)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["keystore.json"])

        try second.save(to: path, overwrite: true)
        #expect(try DeviceKeystore.load(from: path) == second)
        #expect(try Fixture.mode(of: path) == 0o600)
    }

    @Test func loadRejectsBrokenKeystores() throws {
        let dir = try Fixture.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let missing = dir + "/missing.json"
        #expect(throws: DeviceClientError.self) { try DeviceKeystore.load(from: missing) }

        var bad = sample()
        bad.privateKey = "bm90IGEga2V5"
        try bad.save(to: dir + "/bad.json")
        #expect(throws: DeviceClientError.self) { try DeviceKeystore.load(from: dir + "/bad.json") }

        try Data("{}".utf8).write(to: URL(fileURLWithPath: dir + "/empty.json"))
        #expect(throws: DeviceClientError.self) { try DeviceKeystore.load(from: dir + "/empty.json") }
    }

    @Test func defaultPath() {
        #expect(DeviceKeystore.defaultPath(environment: ["COUNTERSIGN_DEVICE_KEYSTORE": "/x/k.json", "HOME": "/home/a"]) == "/x/k.json")
        #expect(DeviceKeystore.defaultPath(environment: ["HOME": "/home/a"]) == "/home/a/.config/countersign-device/keystore.json")
        #expect(DeviceKeystore.defaultPath(environment: ["COUNTERSIGN_DEVICE_KEYSTORE": "", "HOME": "/home/a"]) == "/home/a/.config/countersign-device/keystore.json")
    }
}
