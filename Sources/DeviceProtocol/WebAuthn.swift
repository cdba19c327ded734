import Crypto
import Foundation

/// The WebAuthn credential made at enrollment (`navigator.credentials.create`, attestation "none"). The page sends
/// the public key as `getPublicKey()` gives it (SPKI, DER), which keeps CBOR out; the authenticator data is checked
/// for the RP, the flags and the credential id. Binary fields are base64.
public struct WebAuthnRegistration: Codable, Sendable, Equatable {
    public var credentialID: String
    public var publicKey: String
    public var authenticatorData: String
    public var clientDataJSON: String

    public init(credentialID: String, publicKey: String, authenticatorData: String, clientDataJSON: String) {
        self.credentialID = credentialID
        self.publicKey = publicKey
        self.authenticatorData = authenticatorData
        self.clientDataJSON = clientDataJSON
    }

    enum CodingKeys: String, CodingKey {
        case credentialID = "credential_id"
        case publicKey = "public_key"
        case authenticatorData = "authenticator_data"
        case clientDataJSON = "client_data_json"
    }
}

/// One `navigator.credentials.get` result; binary fields are base64.
public struct WebAuthnAssertion: Codable, Sendable, Equatable {
    public var credentialID: String
    public var authenticatorData: String
    public var clientDataJSON: String
    /// ECDSA, DER (as WebAuthn's ES256 gives it).
    public var signature: String

    public init(credentialID: String, authenticatorData: String, clientDataJSON: String, signature: String) {
        self.credentialID = credentialID
        self.authenticatorData = authenticatorData
        self.clientDataJSON = clientDataJSON
        self.signature = signature
    }

    enum CodingKeys: String, CodingKey {
        case signature
        case credentialID = "credential_id"
        case authenticatorData = "authenticator_data"
        case clientDataJSON = "client_data_json"
    }
}

/// A device's WebAuthn credential as the server keeps it: its id (base64) and P-256 key (base64 raw x‖y, like device
/// keys).
public struct WebAuthnCredential: Codable, Sendable, Equatable {
    public var id: String
    public var publicKey: String

    public init(id: String, publicKey: String) {
        self.id = id
        self.publicKey = publicKey
    }
}

/// Why a WebAuthn registration or assertion is refused.
public enum WebAuthnFailure: String, Error, Sendable {
    case malformed
    case unsupportedKey = "unsupported_key"
    case wrongCredential = "wrong_credential"
    case wrongType = "wrong_type"
    case wrongChallenge = "wrong_challenge"
    case wrongOrigin = "wrong_origin"
    case wrongRelyingParty = "wrong_relying_party"
    case userNotPresent = "user_not_present"
    case userNotVerified = "user_not_verified"
    case badSignature = "bad_signature"
}

/// The relying party the browser saw: its RP ID (the host) and origin, both from `http.public_url`; checks what
/// the page's authenticator made (W3C WebAuthn Level 2, §7.1 and §7.2, ES256 only).
public struct WebAuthnRelyingParty: Sendable, Equatable {
    public var id: String
    public var origin: String

    public init(id: String, origin: String) {
        self.id = id
        self.origin = origin
    }

    /// From a public URL such as `https://mfa.example.com:8443/prefix`; nil without a host name (WebAuthn has no RP
    /// IDs that are IP addresses).
    public init?(publicURL: String) {
        guard let components = URLComponents(string: publicURL), let scheme = components.scheme?.lowercased(),
            scheme == "https" || scheme == "http", let host = components.host?.lowercased(), !host.isEmpty,
            !Self.isIPAddress(host)
        else { return nil }
        // An origin leaves out the scheme's default port (RFC 6454 §6.1).
        let port = components.port.flatMap { ($0 == 443 && scheme == "https") || ($0 == 80 && scheme == "http") ? nil : $0 }
        self.init(id: host, origin: "\(scheme)://\(host)" + (port.map { ":\($0)" } ?? ""))
    }

    static func isIPAddress(_ host: String) -> Bool {
        host.contains(":") || host.hasPrefix("[") || host.split(separator: ".").allSatisfy { !$0.isEmpty && $0.allSatisfy(\.isNumber) }
    }

    // Authenticator data (§6.1): rpIdHash (32), flags (1), signCount (4), then attested credential data when AT is set.
    private static let userPresent: UInt8 = 0x01
    private static let userVerified: UInt8 = 0x04
    private static let attestedCredentialData: UInt8 = 0x40

    /// The credential of a registration made with `challenge`; throws what is wrong with it.
    public func verify(_ registration: WebAuthnRegistration, challenge: [UInt8]) throws(WebAuthnFailure) -> WebAuthnCredential {
        guard let credentialID = Self.decode(registration.credentialID), !credentialID.isEmpty,
            let spki = Self.decode(registration.publicKey), let authenticatorData = Self.decode(registration.authenticatorData),
            let clientData = Self.decode(registration.clientDataJSON)
        else { throw .malformed }
        try checkClientData(clientData, type: "webauthn.create", challenge: challenge)
        let flags = try checkAuthenticatorData(authenticatorData)
        // AAGUID (16), credentialIdLength (2, big-endian), credentialId.
        guard flags & Self.attestedCredentialData != 0, authenticatorData.count >= 55 else { throw .malformed }
        let length = Int(authenticatorData[53]) << 8 | Int(authenticatorData[54])
        guard authenticatorData.count >= 55 + length else { throw .malformed }
        guard ConstantTime.equals(Array(authenticatorData[55..<(55 + length)]), credentialID) else { throw .wrongCredential }
        guard let key = try? P256.Signing.PublicKey(derRepresentation: spki) else { throw .unsupportedKey }
        return WebAuthnCredential(id: credentialID.base64, publicKey: DeviceCrypto.encode(key))
    }

    /// Checks an assertion by `credential` over `challenge`; throws what is wrong with it.
    public func verify(_ assertion: WebAuthnAssertion, challenge: [UInt8], credential: WebAuthnCredential) throws(WebAuthnFailure) {
        guard let credentialID = Self.decode(assertion.credentialID), let expectedID = Self.decode(credential.id),
            let authenticatorData = Self.decode(assertion.authenticatorData), let clientData = Self.decode(assertion.clientDataJSON),
            let signatureBytes = Self.decode(assertion.signature)
        else { throw .malformed }
        guard ConstantTime.equals(credentialID, expectedID) else { throw .wrongCredential }
        try checkClientData(clientData, type: "webauthn.get", challenge: challenge)
        _ = try checkAuthenticatorData(authenticatorData)
        guard let key = DeviceCrypto.publicKey(credential.publicKey),
            let signature = try? P256.Signing.ECDSASignature(derRepresentation: signatureBytes)
        else { throw .badSignature }
        // §7.2 step 20: the signature is over authenticatorData ‖ SHA-256(clientDataJSON).
        let signed = authenticatorData + Array(SHA256.hash(data: clientData))
        guard key.isValidSignature(signature, for: signed) else { throw .badSignature }
    }

    private struct ClientData: Decodable {
        var type: String
        var challenge: String
        var origin: String
    }

    private func checkClientData(_ json: [UInt8], type: String, challenge: [UInt8]) throws(WebAuthnFailure) {
        guard let clientData = try? JSONDecoder().decode(ClientData.self, from: Data(json)) else { throw .malformed }
        guard clientData.type == type else { throw .wrongType }
        guard let sent = Self.decodeURL(clientData.challenge), ConstantTime.equals(sent, challenge) else { throw .wrongChallenge }
        guard clientData.origin == origin else { throw .wrongOrigin }
    }

    /// The flags, once the RP ID hash and the UP and UV flags check out.
    private func checkAuthenticatorData(_ data: [UInt8]) throws(WebAuthnFailure) -> UInt8 {
        guard data.count >= 37 else { throw .malformed }
        guard ConstantTime.equals(Array(data[0..<32]), Array(SHA256.hash(data: Array(id.utf8)))) else { throw .wrongRelyingParty }
        let flags = data[32]
        guard flags & Self.userPresent != 0 else { throw .userNotPresent }
        guard flags & Self.userVerified != 0 else { throw .userNotVerified }
        return flags
    }

    static func decode(_ base64: String) -> [UInt8]? { Data(base64Encoded: base64).map(Array.init) }

    /// base64url without padding, as clientDataJSON carries the challenge.
    static func decodeURL(_ text: String) -> [UInt8]? {
        Base64URL.decode(text)
    }
}

extension Array where Element == UInt8 {
    var base64: String { Data(self).base64EncodedString() }
}
