import Crypto
import Foundation

/// The bytes that get signed: a fixed prefix per message kind (domain separation), then each field as a 4-octet
/// big-endian length and its UTF-8 octets. Never a re-serialised JSON object, so both sides sign the same bytes.
public enum SignedMessage {
    public static let pushRequestDomain = "countersign/push-request/v1"
    public static let pushAnswerDomain = "countersign/push-answer/v1"
    public static let deviceAuthDomain = "countersign/device-auth/v1"
    public static let webAuthnEnrollmentDomain = "countersign/webauthn-enrollment/v1"

    public static func bytes(domain: String, fields: [String]) -> [UInt8] {
        var out: [UInt8] = []
        for field in [domain] + fields {
            let octets = Array(field.utf8)
            withUnsafeBytes(of: UInt32(octets.count).bigEndian) { out.append(contentsOf: $0) }
            out.append(contentsOf: octets)
        }
        return out
    }

    /// What the server signs for a push, so that the device can tell it came from the enrolled server. The
    /// Calling-Station-Id, when there is one, is a tenth field: lengths prefix every field, so the two forms never
    /// share bytes.
    public static func pushRequest(_ push: PushMessage) -> [UInt8] {
        bytes(
            domain: pushRequestDomain,
            fields: [
                push.id, push.deviceID, push.user, push.resourceKind, push.resourceName, push.clientAddress,
                String(push.created), String(push.expires), push.nonce,
            ] + (push.callingStationID.map { [$0] } ?? []))
    }

    /// What the device signs to answer: the push id, its nonce, the decision and the device id.
    public static func pushAnswer(pushID: String, nonce: String, decision: PushDecision, deviceID: String) -> [UInt8] {
        bytes(domain: pushAnswerDomain, fields: [pushID, nonce, decision.rawValue, deviceID])
    }

    /// The WebAuthn challenge of an answer under user verification: SHA-256 of the answer's signed bytes, so the
    /// assertion commits to the push id, its nonce, the decision and the device.
    public static func userVerificationChallenge(pushID: String, nonce: String, decision: PushDecision, deviceID: String) -> [UInt8] {
        Array(SHA256.hash(data: pushAnswer(pushID: pushID, nonce: nonce, decision: decision, deviceID: deviceID)))
    }

    /// The WebAuthn challenge of the credential made at enrollment: binds it to the single-use code.
    public static func webAuthnEnrollmentChallenge(code: String) -> [UInt8] {
        Array(SHA256.hash(data: bytes(domain: webAuthnEnrollmentDomain, fields: [code])))
    }

    /// What the device signs on every API call: who it is, when, and which call.
    public static func deviceAuth(deviceID: String, timestamp: Int64, method: String, path: String) -> [UInt8] {
        bytes(domain: deviceAuthDomain, fields: [deviceID, String(timestamp), method.uppercased(), path])
    }
}

/// P-256 ECDSA over SHA-256; keys travel as base64 of the raw (x‖y) public key, signatures as base64 of r‖s.
public enum DeviceCrypto {
    public static func sign(_ message: [UInt8], with key: P256.Signing.PrivateKey) throws -> String {
        try key.signature(for: message).rawRepresentation.base64EncodedString()
    }

    /// False for a malformed key or signature as for a wrong one.
    public static func verify(_ signature: String, of message: [UInt8], publicKey: String) -> Bool {
        guard let key = self.publicKey(publicKey), let raw = Data(base64Encoded: signature),
            let parsed = try? P256.Signing.ECDSASignature(rawRepresentation: raw)
        else { return false }
        return key.isValidSignature(parsed, for: message)
    }

    public static func publicKey(_ encoded: String) -> P256.Signing.PublicKey? {
        guard let raw = Data(base64Encoded: encoded) else { return nil }
        return try? P256.Signing.PublicKey(rawRepresentation: raw)
    }

    public static func encode(_ key: P256.Signing.PublicKey) -> String {
        key.rawRepresentation.base64EncodedString()
    }

    /// SHA-256 of the raw public key, hex: what the enrollment URI carries so the device can check the server key.
    public static func fingerprint(of publicKey: String) -> String? {
        guard let key = self.publicKey(publicKey) else { return nil }
        return SHA256.hash(data: key.rawRepresentation).map { String(format: "%02x", $0) }.joined()
    }
}
