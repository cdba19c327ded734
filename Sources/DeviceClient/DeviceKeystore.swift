import Crypto
import DeviceProtocol
import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// What `enroll` saves and `listen` loads: a JSON file, mode 0600 from the moment it exists.
public struct DeviceKeystore: Codable, Sendable, Equatable {
    public var serverURL: String
    public var deviceID: String
    public var user: String
    /// Base64 of the P-256 private key's raw representation.
    public var privateKey: String
    /// Base64 of the server's raw P-256 public key (`DeviceCrypto.encode`).
    public var serverPublicKey: String

    public init(serverURL: String, deviceID: String, user: String, privateKey: String, serverPublicKey: String) {
        self.serverURL = serverURL
        self.deviceID = deviceID
        self.user = user
        self.privateKey = privateKey
        self.serverPublicKey = serverPublicKey
    }

    public init(
        serverURL: String, deviceID: String, user: String, signingKey: P256.Signing.PrivateKey, serverPublicKey: String
    ) {
        self.init(
            serverURL: serverURL, deviceID: deviceID, user: user,
            privateKey: signingKey.rawRepresentation.base64EncodedString(), serverPublicKey: serverPublicKey)
    }

    enum CodingKeys: String, CodingKey {
        case user
        case serverURL = "server_url"
        case deviceID = "device_id"
        case privateKey = "private_key"
        case serverPublicKey = "server_public_key"
    }

    /// The device's private key, or nil if the stored text is not one.
    public func signingKey() -> P256.Signing.PrivateKey? {
        guard let raw = Data(base64Encoded: privateKey) else { return nil }
        return try? P256.Signing.PrivateKey(rawRepresentation: raw)
    }

    /// `$COUNTERSIGN_DEVICE_KEYSTORE`, else `~/.config/countersign-device/keystore.json`.
    public static func defaultPath(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        if let path = environment["COUNTERSIGN_DEVICE_KEYSTORE"], !path.isEmpty { return path }
        let home = environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory()
        return (home as NSString).appendingPathComponent(".config/countersign-device/keystore.json")
    }

    public static let environmentVariable = "COUNTERSIGN_DEVICE_KEYSTORE"

    // MARK: Loading

    public static func load(from path: String) throws -> DeviceKeystore {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw DeviceClientError.keystoreIO(path: path, message: "cannot read it (\(error.localizedDescription)); enroll first")
        }
        let keystore: DeviceKeystore
        do {
            keystore = try JSONDecoder().decode(DeviceKeystore.self, from: data)
        } catch {
            throw DeviceClientError.keystoreInvalid(path: path, message: "not a keystore JSON object (\(error))")
        }
        try keystore.validate(path: path)
        return keystore
    }

    func validate(path: String) throws {
        guard (try? DeviceAPIClient.serverBaseURL(serverURL)) != nil else {
            throw DeviceClientError.keystoreInvalid(path: path, message: "bad server_url")
        }
        guard DeviceAPIClient.isHeaderSafe(deviceID) else {
            throw DeviceClientError.keystoreInvalid(path: path, message: "bad device_id")
        }
        guard signingKey() != nil else {
            throw DeviceClientError.keystoreInvalid(path: path, message: "private_key is not a base64 P-256 raw key")
        }
        guard DeviceCrypto.publicKey(serverPublicKey) != nil else {
            throw DeviceClientError.keystoreInvalid(path: path, message: "server_public_key is not a base64 P-256 raw key")
        }
    }

    /// A warning when the keystore file can be read by group or others (it should be 0600).
    public static func permissionWarning(path: String) -> String? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        let mode = info.st_mode & 0o777
        guard mode & 0o077 != 0 else { return nil }
        return "warning: keystore \(path) has mode \(String(mode, radix: 8)); it should be 600 (chmod 600 \(path))"
    }

    // MARK: Saving

    /// Writes the keystore to a temporary file created 0600 (O_CREAT|O_EXCL) in the same folder, then moves it in
    /// place: with `overwrite` false by link(2), which fails if the path exists, so a keystore is never replaced by
    /// accident; with `overwrite` true by rename(2). Missing parent folders are created 0700.
    public func save(to path: String, overwrite: Bool = false) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        var data = try encoder.encode(self)
        data.append(0x0A)

        let directory = (path as NSString).deletingLastPathComponent
        let folder = directory.isEmpty ? "." : directory
        try Self.makeDirectories(folder, keystorePath: path)

        if !overwrite, Self.exists(path) { throw DeviceClientError.keystoreExists(path: path) }

        let name = (path as NSString).lastPathComponent
        let temporary = (folder as NSString).appendingPathComponent(".\(name).tmp-\(Self.randomSuffix())")
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw Self.ioError(path: temporary, "cannot create") }
        var closed = false
        defer {
            if !closed { _ = close(fd) }
        }
        do {
            guard fchmod(fd, 0o600) == 0 else { throw Self.ioError(path: temporary, "cannot chmod") }
            try Self.writeAll(data, to: fd, path: temporary)
            guard fsync(fd) == 0 else { throw Self.ioError(path: temporary, "cannot fsync") }
            closed = true
            guard close(fd) == 0 else { throw Self.ioError(path: temporary, "cannot close") }

            if overwrite {
                guard rename(temporary, path) == 0 else { throw Self.ioError(path: path, "cannot rename into place") }
            } else {
                if link(temporary, path) != 0 {
                    let code = errno
                    if code == EEXIST { throw DeviceClientError.keystoreExists(path: path) }
                    // File systems without hard links: create the final file exclusively instead.
                    try Self.writeExclusive(data, to: path)
                }
                _ = unlink(temporary)
            }
        } catch {
            _ = unlink(temporary)
            throw error
        }
    }

    /// write(2) until all of `data` is out, retrying on EINTR.
    static func writeAll(_ data: Data, to fd: Int32, path: String) throws {
        try data.withUnsafeBytes { (buffer: UnsafeRawBufferPointer) in
            var offset = 0
            while offset < buffer.count {
                let written = write(fd, buffer.baseAddress! + offset, buffer.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    throw ioError(path: path, "cannot write")
                }
                offset += written
            }
        }
    }

    static func writeExclusive(_ data: Data, to path: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            if errno == EEXIST { throw DeviceClientError.keystoreExists(path: path) }
            throw ioError(path: path, "cannot create")
        }
        defer { _ = close(fd) }
        try writeAll(data, to: fd, path: path)
        guard fsync(fd) == 0 else { throw ioError(path: path, "cannot fsync") }
    }

    static func exists(_ path: String) -> Bool {
        var info = stat()
        return lstat(path, &info) == 0
    }

    static func makeDirectories(_ folder: String, keystorePath: String) throws {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: folder, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else {
                throw DeviceClientError.keystoreIO(path: keystorePath, message: "\(folder) is not a folder")
            }
            return
        }
        let parent = (folder as NSString).deletingLastPathComponent
        if !parent.isEmpty, parent != folder { try makeDirectories(parent, keystorePath: keystorePath) }
        if mkdir(folder, 0o700) != 0, errno != EEXIST {
            throw ioError(path: folder, "cannot create folder")
        }
    }

    static func randomSuffix() -> String {
        (0..<8).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined()
    }

    static func ioError(path: String, _ what: String) -> DeviceClientError {
        let message = String(cString: strerror(errno))
        return .keystoreIO(path: path, message: "\(what): \(message)")
    }
}
