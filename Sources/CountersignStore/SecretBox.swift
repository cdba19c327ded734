import Crypto
import Foundation

/// Encrypts TOTP secrets at rest with AES-GCM under a key the database never holds. The user name is bound in as
/// associated data, so a sealed secret copied onto another user's row does not open.
public struct SecretBox: Sendable {
    private let key: SymmetricKey

    public init(key: SymmetricKey) {
        precondition(key.bitCount == 256)
        self.key = key
    }

    public func seal(_ secret: [UInt8], for username: String) throws -> [UInt8] {
        let box = try AES.GCM.seal(secret, using: key, authenticating: Array(username.utf8))
        guard let combined = box.combined else { throw StoreError(.corruptSecret, "could not seal a secret") }
        return Array(combined)
    }

    public func open(_ sealed: [UInt8], for username: String) throws -> [UInt8] {
        do {
            let box = try AES.GCM.SealedBox(combined: sealed)
            return Array(try AES.GCM.open(box, using: key, authenticating: Array(username.utf8)))
        } catch {
            throw StoreError(.corruptSecret, "the TOTP secret of \(username) does not open with this key file")
        }
    }

    /// Reads the 32-byte key file, or creates it (mode 0600) when it does not exist yet.
    public static func loadOrCreateKey(at path: String) throws -> SymmetricKey {
        let manager = FileManager.default
        if manager.fileExists(atPath: path) {
            guard let data = manager.contents(atPath: path), data.count == 32 else {
                throw StoreError(.badKeyFile, "key file \(path) is not 32 bytes")
            }
            return SymmetricKey(data: data)
        }
        let key = SymmetricKey(size: .bits256)
        try StoreFiles.createPrivateFile(at: path, contents: key.withUnsafeBytes { Data($0) })
        return key
    }
}

enum StoreFiles {
    /// Creates the file with mode 0600 from the start (no window in which it is readable by others).
    static func createPrivateFile(at path: String, contents: Data) throws {
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard fd >= 0 else { throw StoreError(.io, "cannot create \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        let written = contents.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard written == contents.count, fsync(fd) == 0 else {
            throw StoreError(.io, "cannot write \(path): \(String(cString: strerror(errno)))")
        }
    }
}
