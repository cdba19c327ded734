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
            throw StoreError(.corruptSecret, "the TOTP secret of \(username) does not open with this key")
        }
    }

    /// The variable that, when set, holds the key (base64 of 32 bytes: `head -c32 /dev/urandom | base64`) in place
    /// of the key file, for deployments whose secrets come from the environment.
    public static let keyVariable = "COUNTERSIGN_STORE_KEY"

    /// The key from `COUNTERSIGN_STORE_KEY` in `environment` when it is set (the key file is then neither read nor
    /// created), else from the key file at `path`. A malformed value is an error that names the variable, never
    /// the value.
    public static func loadKey(keyPath path: String, environment: [String: String]) throws -> SymmetricKey {
        guard let encoded = environment[keyVariable] else { return try loadOrCreateKey(at: path) }
        guard let data = Data(base64Encoded: encoded.trimmingCharacters(in: .whitespacesAndNewlines)), data.count == 32 else {
            throw StoreError(
                .badKeyVariable, "\(keyVariable) is not the base64 of 32 bytes (make one with: head -c32 /dev/urandom | base64)")
        }
        return SymmetricKey(data: data)
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

/// Files of the store and its key, made private from the start.
public enum StoreFiles {
    /// Creates the file with mode 0600 from the start (no window in which it is readable by others).
    public static func createPrivateFile(at path: String, contents: Data) throws {
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

    /// Makes a rename in the file's folder durable (best effort: the data itself is synced already).
    public static func syncDirectory(of path: String) {
        let directory = (path as NSString).deletingLastPathComponent
        let fd = open(directory.isEmpty ? "." : directory, O_RDONLY | O_DIRECTORY)
        guard fd >= 0 else { return }
        fsync(fd)
        close(fd)
    }
}
