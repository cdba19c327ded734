import DeviceProtocol
import Foundation

/// A user's push device (one per user): its id and P-256 public key (base64 raw), made on the device.
public struct EnrolledDevice: Sendable, Equatable, Codable {
    public var id: String
    public var username: String
    public var publicKey: String
    public var name: String
    public var platform: String
    public var enrolledAt: Date
    public var lastUsed: Date?
    /// The WebAuthn credential registered with it (the web authenticator under `push.require_user_verification`).
    public var webAuthn: WebAuthnCredential?

    public init(
        id: String, username: String, publicKey: String, name: String, platform: String, enrolledAt: Date,
        lastUsed: Date? = nil, webAuthn: WebAuthnCredential? = nil
    ) {
        self.webAuthn = webAuthn
        self.id = id
        self.username = username
        self.publicKey = publicKey
        self.name = name
        self.platform = platform
        self.enrolledAt = enrolledAt
        self.lastUsed = lastUsed
    }
}
