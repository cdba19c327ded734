import Crypto
import DeviceProtocol
import Foundation

@testable import DeviceClient

/// An in-memory HTTP transport: answers with `handler`, records every request.
final class FakeTransport: HTTPTransport, @unchecked Sendable {
    private let lock = NSLock()
    private var _requests: [HTTPRequest] = []
    private let handler: @Sendable (HTTPRequest, Int) throws -> HTTPResponse

    /// `handler` gets the request and its index (0 for the first).
    init(handler: @escaping @Sendable (HTTPRequest, Int) throws -> HTTPResponse) { self.handler = handler }

    var requests: [HTTPRequest] { lock.withLock { _requests } }

    func send(_ request: HTTPRequest) async throws -> HTTPResponse {
        let index = lock.withLock {
            _requests.append(request)
            return _requests.count - 1
        }
        return try handler(request, index)
    }
}

/// Collects output lines from the listener.
final class Lines: @unchecked Sendable {
    private let lock = NSLock()
    private var _lines: [String] = []
    var lines: [String] { lock.withLock { _lines } }
    func append(_ line: String) { lock.withLock { _lines.append(line) } }
}

struct FakeConnectionError: Error {}

enum Fixture {
    static func temporaryDirectory() throws -> String {
        let path = NSTemporaryDirectory() + "countersign-device-tests-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    static func mode(of path: String) throws -> Int {
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        return (attributes[.posixPermissions] as! NSNumber).intValue & 0o777
    }

    static func push(
        id: String = "p1", deviceID: String = "dev-1", serverKey: P256.Signing.PrivateKey, created: Int64 = 1_700_000_000
    ) throws -> PushMessage {
        var push = PushMessage(
            id: id, deviceID: deviceID, user: "alice", resourceKind: "radius", resourceName: "vpn",
            clientAddress: "203.0.113.7", created: created, expires: created + 60,
            nonce: Data((0..<16).map { _ in UInt8.random(in: 0...255) }).base64EncodedString())
        push.signature = try DeviceCrypto.sign(SignedMessage.pushRequest(push), with: serverKey)
        return push
    }

    static func json<T: Encodable>(_ value: T, status: Int = 200) throws -> HTTPResponse {
        HTTPResponse(status: status, body: try JSONEncoder().encode(value))
    }

    static func uri(server: String = "https://mfa.example.com", code: String = "ABCD-1234", serverKey: P256.Signing.PrivateKey)
        -> String
    {
        EnrollmentURI(
            serverURL: server, code: code,
            fingerprint: DeviceCrypto.fingerprint(of: DeviceCrypto.encode(serverKey.publicKey))!
        ).uri
    }
}
