import DeviceProtocol
import Foundation

/// `countersign-device listen`: long-poll the server for pushes, check each one, show it, decide, answer.
///
/// Output goes through `output` (one line per call: push and answer lines, meant for stdout) and `warn` (warnings
/// and retry notices, meant for stderr); the decision through `decide`. All three are injectable so the loop can
/// be tested without a terminal.
public struct PushListener: Sendable {
    public typealias Decide = @Sendable (PushMessage) async -> PushDecision

    public struct Options: Sendable {
        /// Stop (normally) after this many answers; nil: run until killed or refused.
        public var count: Int?
        /// The `wait` query of `GET pushes`.
        public var waitSeconds: Int
        /// Pause after a connection error, 5xx, or a poll that brought nothing new.
        public var retryDelay: Duration
        /// Give up after this many consecutive failed calls; nil: retry forever.
        public var maxConsecutiveFailures: Int?

        public init(count: Int? = nil, waitSeconds: Int = 25, retryDelay: Duration = .seconds(1), maxConsecutiveFailures: Int? = 60) {
            self.count = count
            self.waitSeconds = waitSeconds
            self.retryDelay = retryDelay
            self.maxConsecutiveFailures = maxConsecutiveFailures
        }
    }

    let client: DeviceAPIClient
    let serverPublicKey: String
    let options: Options
    let decide: Decide
    let output: @Sendable (String) -> Void
    let warn: @Sendable (String) -> Void
    let sleep: @Sendable (Duration) async throws -> Void

    public init(
        client: DeviceAPIClient, serverPublicKey: String, options: Options = Options(), decide: @escaping Decide,
        output: @escaping @Sendable (String) -> Void, warn: @escaping @Sendable (String) -> Void,
        sleep: @escaping @Sendable (Duration) async throws -> Void = { try await Task.sleep(for: $0) }
    ) {
        self.client = client
        self.serverPublicKey = serverPublicKey
        self.options = options
        self.decide = decide
        self.output = output
        self.warn = warn
        self.sleep = sleep
    }

    /// Why a push is not shown: it does not come from the enrolled server, or is not for this device.
    public enum Rejection: Equatable, Sendable, CustomStringConvertible {
        case badSignature, otherDevice(String), unsafeID

        public var description: String {
            switch self {
            case .badSignature: return "its server signature does not verify"
            case .otherDevice(let id): return "it is addressed to another device (\(Sanitize.line(id)))"
            case .unsafeID: return "its id is not a plain token"
            }
        }
    }

    /// nil when `push` is genuine and for this device.
    public static func check(_ push: PushMessage, serverPublicKey: String, deviceID: String) -> Rejection? {
        guard DeviceCrypto.verify(push.signature, of: SignedMessage.pushRequest(push), publicKey: serverPublicKey) else {
            return .badSignature
        }
        guard push.deviceID == deviceID else { return .otherDevice(push.deviceID) }
        guard DeviceAPIClient.isSafePushID(push.id) else { return .unsafeID }
        return nil
    }

    /// `push <id>: user <user> wants <kind>:<name> from <address> at <ISO 8601 created>` (and `, station <id>` with a
    /// Calling-Station-Id), control characters escaped.
    public static func describe(_ push: PushMessage) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.timeZone = TimeZone(identifier: "UTC")
        let created = formatter.string(from: Date(timeIntervalSince1970: TimeInterval(push.created)))
        let s = Sanitize.line
        return "push \(s(push.id)): user \(s(push.user)) wants \(s(push.resourceKind)):\(s(push.resourceName)) from \(s(push.clientAddress)) at \(created)"
            + (push.callingStationID.map { ", station \(s($0))" } ?? "")
    }

    /// Runs until `options.count` answers have been sent (returns the number answered). Throws
    /// `DeviceClientError.refused` on 401/403, `.tooManyFailures` when retries run out, and other errors that
    /// retrying cannot fix (an unexpected 4xx).
    @discardableResult
    public func run() async throws -> Int {
        var answeredIDs = Set<String>()
        var decisions: [String: PushDecision] = [:]  // decided, but the answer has not landed yet
        var warnedIDs = Set<String>()
        var answers = 0
        var failures = 0

        func failed(_ error: DeviceClientError) async throws {
            failures += 1
            if let limit = options.maxConsecutiveFailures, failures >= limit {
                throw DeviceClientError.tooManyFailures(failures, last: error.description)
            }
            warn("warning: \(error.description); retrying in \(options.retryDelay)")
            try await sleep(options.retryDelay)
        }

        if let count = options.count, count <= 0 { return 0 }
        while true {
            try Task.checkCancellation()
            let list: PushList
            do {
                list = try await client.fetchPushes(wait: options.waitSeconds)
            } catch let error as DeviceClientError {
                guard Self.isRetryable(error) else { throw error }
                try await failed(error)
                continue
            }
            failures = 0

            var handledAny = false
            pushes: for push in list.pushes {
                if answeredIDs.contains(push.id) { continue }
                if let rejection = Self.check(push, serverPublicKey: serverPublicKey, deviceID: client.deviceID) {
                    if warnedIDs.insert(push.id).inserted {
                        warn("warning: ignoring push \(Sanitize.line(push.id)): \(rejection)")
                    }
                    continue
                }
                handledAny = true
                let decision: PushDecision
                if let earlier = decisions[push.id] {
                    decision = earlier
                } else {
                    output(Self.describe(push))
                    decision = await decide(push)
                    decisions[push.id] = decision
                }
                let outcome: DeviceAPIClient.AnswerOutcome
                do {
                    outcome = try await client.answer(push, decision: decision)
                } catch let error as DeviceClientError {
                    guard Self.isRetryable(error) else { throw error }
                    try await failed(error)
                    break pushes  // poll again; the push comes back while its answer has not landed
                }
                failures = 0
                answeredIDs.insert(push.id)
                decisions[push.id] = nil
                answers += 1
                output("answered \(Sanitize.line(push.id)): \(decision.rawValue) (\(outcome.status))")
                // Number matching: the user types this at the login prompt.
                if let number = outcome.number { output("number: \(number)") }
                if let count = options.count, answers >= count { return answers }
            }
            // A non-empty list with nothing new (only answered or rejected pushes) comes back at once: don't spin.
            if !handledAny && !list.pushes.isEmpty { try await sleep(options.retryDelay) }
        }
    }

    static func isRetryable(_ error: DeviceClientError) -> Bool {
        switch error {
        case .connection, .badResponse: return true
        case .unexpectedStatus(let status, _): return status >= 500 || status == 408 || status == 429
        default: return false
        }
    }
}
