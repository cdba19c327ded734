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

/// `countersign-device enroll`: parse the URI, make a key, register it, pin the server key, save the keystore.
public enum Enrollment {
    public static var platform: String {
        #if os(Linux)
            "linux"
        #elseif os(macOS)
            "macos"
        #else
            "unknown"
        #endif
    }

    /// The enrollment URI or link, with its server URL checked to be usable (http/https with a host).
    public static func parseURI(_ text: String) throws -> EnrollmentURI {
        guard let uri = EnrollmentURI(text.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            throw DeviceClientError.invalidEnrollmentURI(
                "expected countersign://enroll?url=…&code=…&fp=… or https://…/authenticator#code=…&fp=…")
        }
        _ = try DeviceAPIClient.serverBaseURL(uri.serverURL)
        guard !uri.code.isEmpty else { throw DeviceClientError.invalidEnrollmentURI("empty code") }
        let fp = uri.fingerprint.lowercased()
        guard fp.count == 64, fp.allSatisfy({ $0.isHexDigit }) else {
            throw DeviceClientError.invalidEnrollmentURI("fp must be 64 hex digits (SHA-256 of the server key)")
        }
        return uri
    }

    /// Refuses a server key whose fingerprint is not the one the enrollment URI carries (hex compared without case).
    public static func checkServerKey(_ serverPublicKey: String, expectedFingerprint: String) throws {
        guard let actual = DeviceCrypto.fingerprint(of: serverPublicKey) else { throw DeviceClientError.invalidServerKey }
        guard actual == expectedFingerprint.lowercased() else {
            throw DeviceClientError.fingerprintMismatch(expected: expectedFingerprint, actual: actual)
        }
    }

    /// The host name, the default device name.
    public static func hostName() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        if gethostname(&buffer, buffer.count - 1) == 0 {
            let octets = buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }
            let name = String(decoding: octets, as: UTF8.self)
            if !name.isEmpty { return name }
        }
        return ProcessInfo.processInfo.hostName
    }

    /// Enrolls and saves the keystore at `keystorePath`; nothing is saved unless the server key matches `fp`.
    /// The path is checked before the single-use code is spent.
    public static func enroll(
        uriText: String, keystorePath: String, name: String? = nil, force: Bool = false,
        transport: any HTTPTransport = URLSessionTransport(), key: P256.Signing.PrivateKey = P256.Signing.PrivateKey()
    ) async throws -> DeviceKeystore {
        let uri = try parseURI(uriText)
        let base = try DeviceAPIClient.serverBaseURL(uri.serverURL)
        if !force, DeviceKeystore.exists(keystorePath) { throw DeviceClientError.keystoreExists(path: keystorePath) }

        let request = EnrollmentRequest(
            code: uri.code, publicKey: DeviceCrypto.encode(key.publicKey), name: name ?? hostName(), platform: platform)
        let url = try DeviceAPIClient.url(base, path: DeviceAPI.enrollPath, query: nil)
        let http = HTTPRequest(
            method: "POST", url: url,
            headers: ["Content-Type": "application/json", "Accept": "application/json"],
            body: try JSONEncoder().encode(request), timeout: 30)
        let response: HTTPResponse
        do {
            response = try await transport.send(http)
        } catch let error as DeviceClientError {
            throw error
        } catch {
            throw DeviceClientError.connection(error.localizedDescription)
        }
        guard (200...299).contains(response.status) else {
            throw DeviceClientError.enrollmentFailed(status: response.status, message: DeviceAPIClient.errorText(response.body))
        }
        let enrolled: EnrollmentResponse
        do {
            enrolled = try JSONDecoder().decode(EnrollmentResponse.self, from: response.body)
        } catch {
            throw DeviceClientError.invalidEnrollmentResponse("not valid JSON (\(error))")
        }
        try checkServerKey(enrolled.serverPublicKey, expectedFingerprint: uri.fingerprint)
        guard DeviceAPIClient.isHeaderSafe(enrolled.deviceID) else {
            throw DeviceClientError.invalidEnrollmentResponse("device_id is empty or not printable ASCII")
        }
        let keystore = DeviceKeystore(
            serverURL: uri.serverURL, deviceID: enrolled.deviceID, user: enrolled.user, signingKey: key,
            serverPublicKey: enrolled.serverPublicKey)
        try keystore.save(to: keystorePath, overwrite: force)
        return keystore
    }
}
