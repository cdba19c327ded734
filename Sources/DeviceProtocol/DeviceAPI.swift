import Foundation

/// The device API (HTTP + JSON) shared by the server and `countersign-device`.
///
/// Every call except enrollment carries the headers below: the device id, a Unix timestamp (accepted within
/// ±60 s) and the device's signature over `SignedMessage.deviceAuth(…)` for the method and path (without query).
public enum DeviceAPI {
    public static let enrollPath = "/v1/device/enroll"
    public static let pushesPath = "/v1/device/pushes"
    /// What a device must do to enroll and answer here (`DeviceSettings`); no authentication.
    public static let settingsPath = "/v1/device/settings"
    public static func answerPath(pushID: String) -> String { "/v1/device/pushes/\(pushID)/answer" }
    public static let authPath = "/v1/auth"

    public static let deviceHeader = "Countersign-Device"
    public static let timestampHeader = "Countersign-Timestamp"
    public static let signatureHeader = "Countersign-Signature"

    /// Seconds a device may be off the server's clock.
    public static let timestampTolerance: Int64 = 60
    /// How long the server holds a `GET pushes` open when nothing is pending (query `wait`, capped by this).
    public static let maximumWaitSeconds = 30
}

public enum PushDecision: String, Codable, Sendable, Equatable {
    case approve, deny
}

/// `POST /v1/device/enroll`
public struct EnrollmentRequest: Codable, Sendable, Equatable {
    public var code: String
    public var publicKey: String
    public var name: String
    public var platform: String
    /// The WebAuthn credential that verifies the user, required under `push.require_user_verification`.
    public var webAuthn: WebAuthnRegistration?

    public init(code: String, publicKey: String, name: String, platform: String, webAuthn: WebAuthnRegistration? = nil) {
        self.code = code
        self.publicKey = publicKey
        self.name = name
        self.platform = platform
        self.webAuthn = webAuthn
    }

    enum CodingKeys: String, CodingKey {
        case code, name, platform
        case publicKey = "public_key"
        case webAuthn = "webauthn"
    }
}

public struct EnrollmentResponse: Codable, Sendable, Equatable {
    public var deviceID: String
    public var user: String
    public var serverPublicKey: String

    public init(deviceID: String, user: String, serverPublicKey: String) {
        self.deviceID = deviceID
        self.user = user
        self.serverPublicKey = serverPublicKey
    }

    enum CodingKeys: String, CodingKey {
        case user
        case deviceID = "device_id"
        case serverPublicKey = "server_public_key"
    }
}

/// One push as the device receives it, signed by the server over `SignedMessage.pushRequest`.
public struct PushMessage: Codable, Sendable, Equatable {
    public var id: String
    public var deviceID: String
    public var user: String
    public var resourceKind: String
    public var resourceName: String
    public var clientAddress: String
    /// Unix seconds.
    public var created: Int64
    public var expires: Int64
    /// Base64 of 16 random octets.
    public var nonce: String
    public var signature: String
    /// RADIUS Calling-Station-Id (the user's own address or MAC, as the NAS reports it), when the request had one.
    public var callingStationID: String?

    public init(
        id: String, deviceID: String, user: String, resourceKind: String, resourceName: String, clientAddress: String,
        created: Int64, expires: Int64, nonce: String, signature: String = "", callingStationID: String? = nil
    ) {
        self.callingStationID = callingStationID
        self.id = id
        self.deviceID = deviceID
        self.user = user
        self.resourceKind = resourceKind
        self.resourceName = resourceName
        self.clientAddress = clientAddress
        self.created = created
        self.expires = expires
        self.nonce = nonce
        self.signature = signature
    }

    enum CodingKeys: String, CodingKey {
        case id, user, created, expires, nonce, signature
        case deviceID = "device_id"
        case resourceKind = "resource_kind"
        case resourceName = "resource_name"
        case clientAddress = "client_address"
        case callingStationID = "calling_station_id"
    }
}

/// `GET /v1/device/pushes?wait=N`
public struct PushList: Codable, Sendable, Equatable {
    public var pushes: [PushMessage]
    public init(pushes: [PushMessage]) { self.pushes = pushes }
}

/// `POST /v1/device/pushes/{id}/answer`
public struct PushAnswer: Codable, Sendable, Equatable {
    public var decision: PushDecision
    /// Over `SignedMessage.pushAnswer`.
    public var signature: String
    /// Under `push.require_user_verification`: a WebAuthn assertion whose challenge is
    /// `SignedMessage.userVerificationChallenge` of this answer.
    public var webAuthn: WebAuthnAssertion?

    public init(decision: PushDecision, signature: String, webAuthn: WebAuthnAssertion? = nil) {
        self.decision = decision
        self.signature = signature
        self.webAuthn = webAuthn
    }

    enum CodingKeys: String, CodingKey {
        case decision, signature
        case webAuthn = "webauthn"
    }
}

/// `GET /v1/device/settings`: what the server asks of a device, so that the web authenticator knows before it enrolls.
public struct DeviceSettings: Codable, Sendable, Equatable {
    /// Every answer must carry a WebAuthn assertion with user verification (`push.require_user_verification`).
    public var requireUserVerification: Bool

    public init(requireUserVerification: Bool) { self.requireUserVerification = requireUserVerification }

    enum CodingKeys: String, CodingKey {
        case requireUserVerification = "require_user_verification"
    }
}

/// The answer to an accepted `PushAnswer`. `number`: for an approved push under number matching, the number the
/// device shows the user, who types it at the login prompt.
public struct PushAnswerReceipt: Codable, Sendable, Equatable {
    public var result: String
    public var number: String?

    public init(result: String = "accepted", number: String? = nil) {
        self.result = result
        self.number = number
    }
}

/// Every refusal of the device API has this one body, so nothing leaks about why.
public struct DeviceAPIError: Codable, Sendable, Equatable {
    public var error: String
    public init(error: String) { self.error = error }
    public static let refused = DeviceAPIError(error: "refused")
    /// The one refusal that says why: nothing secret is in it, and the user needs to know what to use instead.
    public static let userVerificationRequired = DeviceAPIError(
        error: "this server requires user verification (push.require_user_verification): enroll with the web authenticator on a device with a platform authenticator (fingerprint, face or PIN); countersign-device cannot verify the user")
}

/// Where to enroll, the single-use code and the server key's fingerprint, in two forms:
/// - `uri`, `countersign://enroll?url=…&code=…&fp=…`, for `countersign-device`;
/// - `link`, `{url}/authenticator#code=…&fp=…`, the web authenticator's page for a phone's browser, with the code and
///   fingerprint in the fragment, which a browser never sends to a server.
public struct EnrollmentURI: Sendable, Equatable {
    public var serverURL: String
    public var code: String
    public var fingerprint: String

    /// The web authenticator's path below the server URL.
    public static let authenticatorPath = "/authenticator"

    public init(serverURL: String, code: String, fingerprint: String) {
        self.serverURL = serverURL
        self.code = code
        self.fingerprint = fingerprint
    }

    public var uri: String {
        var components = URLComponents()
        components.scheme = "countersign"
        components.host = "enroll"
        components.queryItems = [
            URLQueryItem(name: "url", value: serverURL), URLQueryItem(name: "code", value: code),
            URLQueryItem(name: "fp", value: fingerprint),
        ]
        return components.string ?? ""
    }

    public var link: String {
        // Only unreserved characters stay as they are: a page's URLSearchParams would read a "+" as a space.
        let unreserved = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
        func encoded(_ value: String) -> String { value.addingPercentEncoding(withAllowedCharacters: unreserved) ?? "" }
        var base = Substring(serverURL)
        while base.hasSuffix("/") { base = base.dropLast() }
        return "\(base)\(Self.authenticatorPath)#code=\(encoded(code))&fp=\(encoded(fingerprint))"
    }

    /// Parses either form; nil when it is neither or a part is missing.
    public init?(_ text: String) {
        guard let components = URLComponents(string: text) else { return nil }
        if components.scheme == "countersign" {
            guard components.host == "enroll", let items = components.queryItems else { return nil }
            self.init(items: items, serverURL: items.first(where: { $0.name == "url" })?.value)
        } else {
            self.init(link: components)
        }
    }

    /// `http[s]://host[/prefix]/authenticator#code=…&fp=…`, without a query.
    private init?(link: URLComponents) {
        var server = link
        guard let scheme = link.scheme?.lowercased(), scheme == "https" || scheme == "http", link.query == nil,
            let fragment = link.percentEncodedFragment, link.percentEncodedPath.hasSuffix(Self.authenticatorPath)
        else { return nil }
        // By hand: URLComponents' percentEncodedQuery setter traps on a bad escape, and the fragment is input.
        var items: [URLQueryItem] = []
        for pair in fragment.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard parts.count == 2, let name = parts[0].removingPercentEncoding, let value = parts[1].removingPercentEncoding
            else { return nil }
            items.append(URLQueryItem(name: name, value: value))
        }
        server.fragment = nil
        server.percentEncodedPath = String(link.percentEncodedPath.dropLast(Self.authenticatorPath.count))
        self.init(items: items, serverURL: server.string)
    }

    private init?(items: [URLQueryItem], serverURL: String?) {
        guard let serverURL, let code = items.first(where: { $0.name == "code" })?.value,
            let fingerprint = items.first(where: { $0.name == "fp" })?.value
        else { return nil }
        self.init(serverURL: serverURL, code: code, fingerprint: fingerprint)
    }
}

/// `POST /v1/auth` (Authorization: Bearer <the resource's API key>): push to the user, wait, answer.
public struct AuthRequest: Codable, Sendable, Equatable {
    public var user: String
    public var clientAddress: String?
    /// A TOTP code instead of a push.
    public var code: String?

    public init(user: String, clientAddress: String? = nil, code: String? = nil) {
        self.user = user
        self.clientAddress = clientAddress
        self.code = code
    }

    enum CodingKeys: String, CodingKey {
        case user, code
        case clientAddress = "client_address"
    }
}

public struct AuthResponse: Codable, Sendable, Equatable {
    /// "allow" or "deny".
    public var result: String
    public var reason: String?

    public init(result: String, reason: String? = nil) {
        self.result = result
        self.reason = reason
    }
}
