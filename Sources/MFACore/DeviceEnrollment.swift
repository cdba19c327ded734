import DeviceProtocol
import Foundation

/// Enrolling a push device, both halves in one place: the single-use code an admin hands over, and its redemption by
/// the device (its key, and under user verification its WebAuthn credential). One device per user.
public struct DeviceEnrollment: Sendable {
    /// How long a code works.
    public static let codeLifetime: TimeInterval = 600

    /// Why a device was not enrolled: said to the operator's log, never in detail to the device.
    public enum Refusal: Error, Sendable, Equatable, CustomStringConvertible {
        case malformedKey
        /// User verification is required and the device registered no WebAuthn credential: it should say so.
        case userVerificationRequired
        case badRegistration(WebAuthnFailure)
        /// Unknown, used or expired.
        case unusableCode
        /// The store refused the device (the user has one already, or was deleted).
        case notStored(String)

        public var description: String {
            switch self {
            case .malformedKey: "the device's public key is malformed"
            case .userVerificationRequired: "user verification is required and the device registered no WebAuthn credential"
            case .badRegistration(let failure): "WebAuthn registration: \(failure.rawValue)"
            case .unusableCode: "unknown, used or expired code"
            case .notStored(let reason): reason
            }
        }
    }

    private let store: any DeviceStore
    private let clock: any WallClock
    private let userVerification: WebAuthnRelyingParty?

    public init(store: any DeviceStore, clock: any WallClock = SystemWallClock(), userVerification: WebAuthnRelyingParty? = nil) {
        self.store = store
        self.clock = clock
        self.userVerification = userVerification
    }

    /// A new code for `user` (160 bits from the CSPRNG, Base32): the store keeps only its hash, until it is used or
    /// `codeLifetime` has passed.
    public func issueCode(for user: String) async throws -> String {
        let code = Base32.encode(SecureRandom.bytes(20))
        try await store.createEnrollmentCode(code, for: user, expires: clock.now().addingTimeInterval(Self.codeLifetime))
        return code
    }

    /// Uses up `request.code` for the device it describes; the enrolled device.
    public func enroll(_ request: EnrollmentRequest) async throws(Refusal) -> EnrolledDevice {
        guard DeviceCrypto.publicKey(request.publicKey) != nil else { throw .malformedKey }
        // Checked before the code is spent: a device that cannot verify the user can try again with one that can.
        var credential: WebAuthnCredential?
        if let userVerification {
            guard let registration = request.webAuthn else { throw .userVerificationRequired }
            do {
                credential = try userVerification.verify(registration, challenge: SignedMessage.webAuthnEnrollmentChallenge(code: request.code))
            } catch {
                throw .badRegistration(error)
            }
        }
        let user: String
        do {
            guard let redeemed = try await store.redeemEnrollmentCode(request.code, now: clock.now()) else { throw Refusal.unusableCode }
            user = redeemed
        } catch let refusal as Refusal {
            throw refusal
        } catch {
            throw .notStored("\(error)")
        }
        let device = EnrolledDevice(
            id: SecureRandom.bytes(16).map { String(format: "%02x", $0) }.joined(), username: user, publicKey: request.publicKey,
            name: Self.printable(request.name), platform: Self.printable(request.platform), enrolledAt: clock.now(),
            webAuthn: credential)
        do {
            try await store.addDevice(device)
        } catch {
            throw .notStored("\(error)")
        }
        return device
    }

    /// Names a device gives itself end up in logs and the CLI: printable and short.
    static func printable(_ text: String) -> String {
        String(String.UnicodeScalarView(text.unicodeScalars.filter { $0.properties.generalCategory != .control }).prefix(64))
    }
}
