import Crypto
import DeviceProtocol
import Foundation
import MFACore

/// A signed-in browser, as its cookie carries it: no server-side state, so every node that shares the store's
/// `web-session` key checks it alike. Admin and user sessions never mix: the role is signed into the payload, each
/// role has a cookie of its own name, and each area accepts its own role only.
public struct WebSession: Sendable, Equatable {
    public enum Role: String, Sendable {
        /// The admin console (`/admin`).
        case admin
        /// The user portal (`/portal`).
        case user
    }

    public enum Stage: String, Sendable {
        /// The password was right; the code is still to come (or TOTP to set up). Opens the code page alone.
        case password
        /// Password and code: the whole area.
        case signedIn = "full"
        /// The user portal only: an invitation (or the password of a user with no factor) lets its user enroll a
        /// first factor, and nothing else.
        case enrollment = "enroll"
    }

    public var role: Role
    public var stage: Stage
    public var name: String
    /// 128 random bits, new at each sign-in step; the CSRF token is derived from it.
    public var id: String
    public var issued: Date
    public var lastSeen: Date

    public init(role: Role, stage: Stage, name: String, id: String = WebSession.newID(), issued: Date, lastSeen: Date? = nil) {
        self.role = role
        self.stage = stage
        self.name = name
        self.id = id
        self.issued = issued
        self.lastSeen = lastSeen ?? issued
    }

    public static func newID() -> String {
        SecureRandom.bytes(16).map { String(format: "%02x", $0) }.joined()
    }
}

/// Signs and checks session cookies and their CSRF tokens with HMAC-SHA256 under one key, and applies the expiries.
public struct WebSessionSigner: Sendable {
    /// Why a cookie was refused (for tests and the debug log; the browser sees a sign-in page).
    public enum Refusal: Error, Equatable, Sendable {
        case malformed
        case badSignature
        case idleExpired
        case absoluteExpired
    }

    public struct Lifetimes: Sendable, Equatable {
        /// Without a request for this long, the session ends.
        public var idle: TimeInterval
        /// However active, the session ends this long after the password was checked.
        public var absolute: TimeInterval
        /// Between password and code.
        public var passwordStage: TimeInterval

        public init(idle: TimeInterval = 15 * 60, absolute: TimeInterval = 8 * 3600, passwordStage: TimeInterval = 5 * 60) {
            self.idle = idle
            self.absolute = absolute
            self.passwordStage = passwordStage
        }
    }

    private let key: SymmetricKey
    public let lifetimes: Lifetimes
    private static let sessionDomain = Array("countersign/web-session/v1\n".utf8)
    private static let csrfDomain = Array("countersign/csrf/v1\n".utf8)
    private static let sealDomain = Array("countersign/form-seal/v1\n".utf8)

    public init(key: [UInt8], lifetimes: Lifetimes = Lifetimes()) {
        precondition(key.count == 32)
        self.key = SymmetricKey(data: key)
        self.lifetimes = lifetimes
    }

    /// `v1.ROLE.STAGE.NAME.ID.ISSUED.LASTSEEN.MAC`, the name and MAC base64url: only RFC 6265 cookie octets.
    public func encode(_ session: WebSession) -> String {
        let payload = [
            "v1", session.role.rawValue, session.stage.rawValue, Base64URL.encode(Array(session.name.utf8)), session.id,
            String(Int64(session.issued.timeIntervalSince1970)), String(Int64(session.lastSeen.timeIntervalSince1970)),
        ].joined(separator: ".")
        return payload + "." + Base64URL.encode(mac(Self.sessionDomain, payload))
    }

    /// The session a cookie holds when its signature verifies and neither expiry has passed at `now`.
    public func decode(_ value: String, now: Date) -> Result<WebSession, Refusal> {
        guard let dot = value.lastIndex(of: ".") else { return .failure(.malformed) }
        let payload = String(value[..<dot])
        guard let given = Base64URL.decode(String(value[value.index(after: dot)...])) else { return .failure(.malformed) }
        // The signature first, in constant time: nothing of an unsigned payload is read.
        guard ConstantTime.equals(given, mac(Self.sessionDomain, payload)) else { return .failure(.badSignature) }
        let fields = payload.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard fields.count == 7, fields[0] == "v1", let role = WebSession.Role(rawValue: fields[1]),
            let stage = WebSession.Stage(rawValue: fields[2]), let nameBytes = Base64URL.decode(fields[3]),
            let name = String(validating: nameBytes, as: UTF8.self), let issued = Int64(fields[5]), let lastSeen = Int64(fields[6])
        else { return .failure(.malformed) }
        let session = WebSession(
            role: role, stage: stage, name: name, id: fields[4], issued: Date(timeIntervalSince1970: TimeInterval(issued)),
            lastSeen: Date(timeIntervalSince1970: TimeInterval(lastSeen)))
        let absolute = stage == .password ? lifetimes.passwordStage : lifetimes.absolute
        if now.timeIntervalSince(session.issued) > absolute { return .failure(.absoluteExpired) }
        if now.timeIntervalSince(session.lastSeen) > lifetimes.idle { return .failure(.idleExpired) }
        return .success(session)
    }

    /// The hidden field of every form a session posts: bound to its id, so a token from another session is refused.
    public func csrfToken(for session: WebSession) -> String {
        Base64URL.encode(mac(Self.csrfDomain, session.id))
    }

    public func isValidCSRFToken(_ token: String?, for session: WebSession) -> Bool {
        guard let token, let given = Base64URL.decode(token) else { return false }
        return ConstantTime.equals(given, mac(Self.csrfDomain, session.id))
    }

    /// A tag that binds `text` (a value a form carries back, such as a TOTP secret waiting for its first code) to
    /// the session, so that no other value and no other session's can be posted in its place.
    public func seal(_ text: String, for session: WebSession) -> String {
        Base64URL.encode(mac(Self.sealDomain, session.id + "\n" + text))
    }

    public func isValidSeal(_ seal: String?, of text: String, for session: WebSession) -> Bool {
        guard let seal, let given = Base64URL.decode(seal) else { return false }
        return ConstantTime.equals(given, mac(Self.sealDomain, session.id + "\n" + text))
    }

    private func mac(_ domain: [UInt8], _ text: String) -> [UInt8] {
        Array(HMAC<SHA256>.authenticationCode(for: domain + Array(text.utf8), using: key))
    }
}
