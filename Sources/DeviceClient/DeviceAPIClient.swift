import Crypto
import DeviceProtocol
import Foundation

/// Signed calls to the device API of one server, as one enrolled device.
public struct DeviceAPIClient: Sendable {
    public let baseURL: URL
    public let deviceID: String
    let key: P256.Signing.PrivateKey
    let transport: any HTTPTransport
    let now: @Sendable () -> Date

    public init(
        baseURL: URL, deviceID: String, key: P256.Signing.PrivateKey, transport: any HTTPTransport = URLSessionTransport(),
        now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.baseURL = baseURL
        self.deviceID = deviceID
        self.key = key
        self.transport = transport
        self.now = now
    }

    public init(keystore: DeviceKeystore, transport: any HTTPTransport = URLSessionTransport(), now: @escaping @Sendable () -> Date = { Date() }) throws {
        guard let key = keystore.signingKey() else {
            throw DeviceClientError.keystoreInvalid(path: "", message: "private_key is not a P-256 key")
        }
        self.init(baseURL: try Self.serverBaseURL(keystore.serverURL), deviceID: keystore.deviceID, key: key, transport: transport, now: now)
    }

    // MARK: Signing

    /// The three device headers for `method` and `path` (the path alone, without any query).
    public func authHeaders(method: String, path: String) throws -> [String: String] {
        let timestamp = Int64(now().timeIntervalSince1970.rounded(.down))
        let message = SignedMessage.deviceAuth(deviceID: deviceID, timestamp: timestamp, method: method, path: path)
        return [
            DeviceAPI.deviceHeader: deviceID,
            DeviceAPI.timestampHeader: String(timestamp),
            DeviceAPI.signatureHeader: try DeviceCrypto.sign(message, with: key),
        ]
    }

    /// The signed answer body for `push`.
    public func answerBody(for push: PushMessage, decision: PushDecision) throws -> PushAnswer {
        let message = SignedMessage.pushAnswer(pushID: push.id, nonce: push.nonce, decision: decision, deviceID: deviceID)
        return PushAnswer(decision: decision, signature: try DeviceCrypto.sign(message, with: key))
    }

    // MARK: Calls

    /// `GET /v1/device/pushes?wait=N`. Throws `.refused` on 401/403, `.unexpectedStatus` on other non-2xx,
    /// `.connection` when no response came, `.badResponse` on undecodable JSON.
    public func fetchPushes(wait: Int) async throws -> PushList {
        let path = DeviceAPI.pushesPath
        let url = try Self.url(baseURL, path: path, query: "wait=\(wait)")
        var headers = try authHeaders(method: "GET", path: path)
        headers["Accept"] = "application/json"
        let request = HTTPRequest(method: "GET", url: url, headers: headers, timeout: TimeInterval(wait + 35))
        let response = try await send(request)
        try Self.check(response)
        do {
            return try JSONDecoder().decode(PushList.self, from: response.body)
        } catch {
            throw DeviceClientError.badResponse("push list is not valid JSON (\(error))")
        }
    }

    /// What the server said to an answer: its HTTP status and, under number matching, the number to show.
    public struct AnswerOutcome: Sendable, Equatable {
        public var status: Int
        public var number: String?
    }

    /// `POST /v1/device/pushes/{id}/answer`; returns the HTTP status when it is not a refusal (401/403) or a
    /// server error (5xx), which throw, and the number to show the user when number matching is on.
    public func answer(_ push: PushMessage, decision: PushDecision) async throws -> AnswerOutcome {
        let path = DeviceAPI.answerPath(pushID: push.id)
        let url = try Self.url(baseURL, path: path, query: nil)
        var headers = try authHeaders(method: "POST", path: path)
        headers["Content-Type"] = "application/json"
        headers["Accept"] = "application/json"
        let body = try JSONEncoder().encode(try answerBody(for: push, decision: decision))
        let response = try await send(HTTPRequest(method: "POST", url: url, headers: headers, body: body, timeout: 30))
        switch response.status {
        case 401, 403: throw DeviceClientError.refused(status: response.status)
        case 500...599, 408, 429:
            throw DeviceClientError.unexpectedStatus(status: response.status, message: Self.errorText(response.body))
        default:
            let receipt = try? JSONDecoder().decode(PushAnswerReceipt.self, from: response.body)
            // Only digits reach the terminal: the server's text is shown to the user as it is.
            let number = receipt?.number.flatMap { $0.allSatisfy(\.isASCII) && $0.allSatisfy(\.isNumber) && $0.count <= 8 ? $0 : nil }
            return AnswerOutcome(status: response.status, number: number)
        }
    }

    func send(_ request: HTTPRequest) async throws -> HTTPResponse {
        do {
            return try await transport.send(request)
        } catch let error as DeviceClientError {
            throw error
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            throw DeviceClientError.connection(error.localizedDescription)
        }
    }

    static func check(_ response: HTTPResponse) throws {
        switch response.status {
        case 200...299: return
        case 401, 403: throw DeviceClientError.refused(status: response.status)
        default: throw DeviceClientError.unexpectedStatus(status: response.status, message: errorText(response.body))
        }
    }

    static func errorText(_ body: Data) -> String {
        if let error = try? JSONDecoder().decode(DeviceAPIError.self, from: body) { return error.error }
        let text = String(decoding: body.prefix(200), as: UTF8.self)
        return text.isEmpty ? "(empty body)" : Sanitize.line(text)
    }

    // MARK: URLs

    /// The server URL from an enrollment URI or keystore: http or https, a host, no query or fragment.
    public static func serverBaseURL(_ text: String) throws -> URL {
        guard let components = URLComponents(string: text), let scheme = components.scheme?.lowercased(),
            scheme == "https" || scheme == "http", let host = components.host, !host.isEmpty,
            components.query == nil, components.fragment == nil, let url = components.url
        else { throw DeviceClientError.invalidServerURL(text) }
        return url
    }

    /// `base` + `path` (+ `?query`), keeping any path prefix of the base (a trailing slash is dropped).
    static func url(_ base: URL, path: String, query: String?) throws -> URL {
        var text = base.absoluteString
        while text.hasSuffix("/") { text.removeLast() }
        text += path
        if let query { text += "?" + query }
        guard let url = URL(string: text) else { throw DeviceClientError.badResponse("cannot build a URL for \(path)") }
        return url
    }

    /// Fit for an HTTP header value: non-empty printable ASCII, no spaces.
    static func isHeaderSafe(_ value: String) -> Bool {
        !value.isEmpty && value.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7F }
    }

    /// Fit for a path segment without encoding: RFC 3986 unreserved characters only.
    public static func isSafePushID(_ id: String) -> Bool {
        !id.isEmpty && id.count <= 200
            && id.utf8.allSatisfy { byte in
                (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                    || byte == 0x2D || byte == 0x2E || byte == 0x5F || byte == 0x7E
            } && id != "." && id != ".."
    }
}

enum Sanitize {
    /// One line of terminal-safe text: control characters (newlines, escapes) shown as `\u{…}`.
    static func line(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            if scalar.properties.generalCategory == .control || scalar.properties.generalCategory == .format
                || scalar == "\u{2028}" || scalar == "\u{2029}"
            {
                out += "\\u{\(String(scalar.value, radix: 16))}"
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}
