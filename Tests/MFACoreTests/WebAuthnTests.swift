import Crypto
import DeviceProtocol
import Foundation
import Testing

@testable import MFACore

/// What a browser's platform authenticator makes (WebAuthn Level 2 §6.1, §7.1, §7.2), made here with swift-crypto.
struct SoftAuthenticator {
    let key = P256.Signing.PrivateKey()
    let credentialID = Array((0..<16).map { _ in UInt8.random(in: 0...255) })
    var relyingParty = WebAuthnRelyingParty(id: "localhost", origin: "https://localhost:8443")

    static let userPresent: UInt8 = 0x01
    static let userVerified: UInt8 = 0x04
    static let attested: UInt8 = 0x40

    var credential: WebAuthnCredential {
        WebAuthnCredential(id: Data(credentialID).base64EncodedString(), publicKey: DeviceCrypto.encode(key.publicKey))
    }

    func authenticatorData(rpID: String? = nil, flags: UInt8, attestedID: [UInt8]? = nil) -> [UInt8] {
        var data = Array(SHA256.hash(data: Array((rpID ?? relyingParty.id).utf8))) + [flags, 0, 0, 0, 1]
        if let attestedID {
            // AAGUID, the id's length and the id, then a COSE key the server never reads.
            data += [UInt8](repeating: 0, count: 16) + [UInt8(attestedID.count >> 8), UInt8(attestedID.count & 0xFF)] + attestedID
            data += [0xA5, 0x01, 0x02]
        }
        return data
    }

    func clientData(type: String, challenge: [UInt8], origin: String? = nil) -> [UInt8] {
        let encoded = Data(challenge).base64EncodedString().replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
        return Array(#"{"type":"\#(type)","challenge":"\#(encoded)","origin":"\#(origin ?? relyingParty.origin)","crossOrigin":false}"#.utf8)
    }

    func registration(
        challenge: [UInt8], type: String = "webauthn.create", origin: String? = nil, rpID: String? = nil,
        flags: UInt8 = userPresent | userVerified | attested, attestedID: [UInt8]? = nil
    ) -> WebAuthnRegistration {
        WebAuthnRegistration(
            credentialID: Data(credentialID).base64EncodedString(), publicKey: key.publicKey.derRepresentation.base64EncodedString(),
            authenticatorData: Data(authenticatorData(rpID: rpID, flags: flags, attestedID: attestedID ?? credentialID)).base64EncodedString(),
            clientDataJSON: Data(clientData(type: type, challenge: challenge, origin: origin)).base64EncodedString())
    }

    func assertion(
        challenge: [UInt8], type: String = "webauthn.get", origin: String? = nil, rpID: String? = nil,
        flags: UInt8 = userPresent | userVerified, signer: P256.Signing.PrivateKey? = nil, credentialID: [UInt8]? = nil
    ) throws -> WebAuthnAssertion {
        let data = authenticatorData(rpID: rpID, flags: flags)
        let client = clientData(type: type, challenge: challenge, origin: origin)
        let signature = try (signer ?? key).signature(for: data + Array(SHA256.hash(data: client)))
        return WebAuthnAssertion(
            credentialID: Data(credentialID ?? self.credentialID).base64EncodedString(), authenticatorData: Data(data).base64EncodedString(),
            clientDataJSON: Data(client).base64EncodedString(), signature: signature.derRepresentation.base64EncodedString())
    }
}

@Suite struct WebAuthnTests {
    let authenticator = SoftAuthenticator()
    let challenge = SignedMessage.userVerificationChallenge(pushID: "p1", nonce: "bm9uY2U=", decision: .approve, deviceID: "dev-1")

    @Test(arguments: [
        ("https://mfa.example.com", "mfa.example.com", "https://mfa.example.com"),
        ("https://MFA.example.com:443/countersign", "mfa.example.com", "https://mfa.example.com"),
        ("https://localhost:8443", "localhost", "https://localhost:8443"),
        ("http://localhost:80", "localhost", "http://localhost"),
    ])
    func theRelyingPartyComesFromThePublicURL(url: String, id: String, origin: String) throws {
        #expect(WebAuthnRelyingParty(publicURL: url) == WebAuthnRelyingParty(id: id, origin: origin))
    }

    @Test(arguments: ["https://127.0.0.1:8443", "https://[::1]:8443", "mailto:x@example.com", "https://"])
    func noRelyingPartyWithoutAHostName(url: String) {
        #expect(WebAuthnRelyingParty(publicURL: url) == nil)
    }

    @Test func aRegistrationGivesTheCredential() throws {
        let credential = try authenticator.relyingParty.verify(authenticator.registration(challenge: challenge), challenge: challenge)
        #expect(credential == authenticator.credential)
    }

    @Test func aRegistrationIsRefusedForEachWrongPart() throws {
        let rp = authenticator.relyingParty
        let a = authenticator
        let cases: [(WebAuthnRegistration, WebAuthnFailure)] = [
            (a.registration(challenge: challenge, type: "webauthn.get"), .wrongType),
            (a.registration(challenge: Array(challenge.reversed())), .wrongChallenge),
            (a.registration(challenge: challenge, origin: "https://evil.example"), .wrongOrigin),
            (a.registration(challenge: challenge, rpID: "evil.example"), .wrongRelyingParty),
            (a.registration(challenge: challenge, flags: SoftAuthenticator.userPresent | SoftAuthenticator.attested), .userNotVerified),
            (a.registration(challenge: challenge, flags: SoftAuthenticator.userVerified | SoftAuthenticator.attested), .userNotPresent),
            (a.registration(challenge: challenge, flags: SoftAuthenticator.userPresent | SoftAuthenticator.userVerified), .malformed),
            (a.registration(challenge: challenge, attestedID: [1, 2, 3]), .wrongCredential),
        ]
        for (registration, failure) in cases {
            #expect(throws: failure) { try rp.verify(registration, challenge: challenge) }
        }
        var notAKey = a.registration(challenge: challenge)
        notAKey.publicKey = Data([0x30, 0x03, 0x02, 0x01, 0x01]).base64EncodedString()
        #expect(throws: WebAuthnFailure.unsupportedKey) { try rp.verify(notAKey, challenge: challenge) }
        var garbage = a.registration(challenge: challenge)
        garbage.clientDataJSON = "%%%"
        #expect(throws: WebAuthnFailure.malformed) { try rp.verify(garbage, challenge: challenge) }
    }

    @Test func anAssertionVerifies() throws {
        try authenticator.relyingParty.verify(
            authenticator.assertion(challenge: challenge), challenge: challenge, credential: authenticator.credential)
    }

    @Test func anAssertionIsRefusedForEachWrongPart() throws {
        let a = authenticator
        let cases: [(WebAuthnAssertion, WebAuthnFailure)] = [
            (try a.assertion(challenge: challenge, flags: SoftAuthenticator.userPresent), .userNotVerified),
            (try a.assertion(challenge: challenge, flags: SoftAuthenticator.userVerified), .userNotPresent),
            (try a.assertion(challenge: Array(challenge.dropLast()) + [0]), .wrongChallenge),
            (try a.assertion(challenge: challenge, origin: "https://localhost:9999"), .wrongOrigin),
            (try a.assertion(challenge: challenge, rpID: "example.com"), .wrongRelyingParty),
            (try a.assertion(challenge: challenge, type: "webauthn.create"), .wrongType),
            (try a.assertion(challenge: challenge, credentialID: [9, 9, 9]), .wrongCredential),
            (try a.assertion(challenge: challenge, signer: P256.Signing.PrivateKey()), .badSignature),
        ]
        for (assertion, failure) in cases {
            #expect(throws: failure) {
                try a.relyingParty.verify(assertion, challenge: challenge, credential: a.credential)
            }
        }
        var truncated = try a.assertion(challenge: challenge)
        truncated.authenticatorData = Data(a.authenticatorData(flags: 5).prefix(36)).base64EncodedString()
        #expect(throws: WebAuthnFailure.malformed) { try a.relyingParty.verify(truncated, challenge: challenge, credential: a.credential) }
    }
}

/// `PushCoordinator` under `push.require_user_verification`: every answer needs an assertion over its own challenge.
@Suite struct PushUserVerificationTests {
    let clock = ManualWallClock(Date(timeIntervalSince1970: 1_700_000_000))
    let deviceKey = P256.Signing.PrivateKey()
    let authenticator = SoftAuthenticator()

    func device(withCredential: Bool) -> EnrolledDevice {
        EnrolledDevice(
            id: "dev-1", username: "alice", publicKey: DeviceCrypto.encode(deviceKey.publicKey), name: "phone", platform: "web",
            enrolledAt: clock.now(), webAuthn: withCredential ? authenticator.credential : nil)
    }

    func pending(_ device: EnrolledDevice) async throws -> (PushCoordinator, Task<PushCoordinator.Result, Never>, PushMessage) {
        let push = PushCoordinator(
            signingKey: P256.Signing.PrivateKey(), clock: clock, userVerification: authenticator.relyingParty)
        let login = Task {
            await push.push(username: "alice", device: device, resource: Resource(kind: .radius, name: "vpn"), clientAddress: "192.0.2.1")
        }
        let message = try #require(await push.pushes(forDevice: "dev-1", wait: .seconds(30)).first)
        return (push, login, message)
    }

    func answer(_ push: PushCoordinator, _ message: PushMessage, _ decision: PushDecision, _ assertion: WebAuthnAssertion?) async throws(PushCoordinator.AnswerRefusal) {
        let signature = (try? DeviceCrypto.sign(
            SignedMessage.pushAnswer(pushID: message.id, nonce: message.nonce, decision: decision, deviceID: "dev-1"), with: deviceKey)) ?? ""
        try await push.answer(pushID: message.id, decision: decision, signature: signature, deviceID: "dev-1", webAuthn: assertion)
    }

    func challenge(_ message: PushMessage, _ decision: PushDecision) -> [UInt8] {
        SignedMessage.userVerificationChallenge(pushID: message.id, nonce: message.nonce, decision: decision, deviceID: "dev-1")
    }

    @Test func anApprovalNeedsAVerifiedAssertionOverItsOwnDecision() async throws {
        let (push, login, message) = try await pending(device(withCredential: true))
        await #expect(throws: PushCoordinator.AnswerRefusal.userNotVerified) { try await answer(push, message, .approve, nil) }
        let unverified = try authenticator.assertion(challenge: challenge(message, .approve), flags: SoftAuthenticator.userPresent)
        await #expect(throws: PushCoordinator.AnswerRefusal.userNotVerified) { try await answer(push, message, .approve, unverified) }
        // An assertion made for a deny cannot approve.
        let forDeny = try authenticator.assertion(challenge: challenge(message, .deny))
        await #expect(throws: PushCoordinator.AnswerRefusal.userNotVerified) { try await answer(push, message, .approve, forDeny) }
        try await answer(push, message, .approve, try authenticator.assertion(challenge: challenge(message, .approve)))
        #expect(await login.value.outcome == .approved)
    }

    @Test func aDeviceWithoutACredentialCannotAnswer() async throws {
        let (push, login, message) = try await pending(device(withCredential: false))
        let assertion = try authenticator.assertion(challenge: challenge(message, .approve))
        await #expect(throws: PushCoordinator.AnswerRefusal.userVerificationRequired) { try await answer(push, message, .approve, assertion) }
        push.expire(now: clock.now().addingTimeInterval(60))
        #expect(await login.value.outcome == .timedOut)
    }
}
