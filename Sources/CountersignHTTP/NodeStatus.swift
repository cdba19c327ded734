/// What a running node reports on `GET /v1/status` (to this machine only) and `countersign status` prints.
public struct NodeStatus: Codable, Sendable, Equatable {
    public var version: String
    public var uptimeSeconds: Int
    /// Pushes waiting for a device's answer.
    public var pushesPending: Int
    /// Logins on this node waiting for a push's answer.
    public var loginsWaitingOnPush: Int
    /// Logins decided in the last 60 seconds, over every front end.
    public var lastMinute: LoginCounts

    public init(version: String, uptimeSeconds: Int, pushesPending: Int, loginsWaitingOnPush: Int = 0, lastMinute: LoginCounts) {
        self.loginsWaitingOnPush = loginsWaitingOnPush
        self.version = version
        self.uptimeSeconds = uptimeSeconds
        self.pushesPending = pushesPending
        self.lastMinute = lastMinute
    }

    enum CodingKeys: String, CodingKey {
        case version, uptimeSeconds = "uptime_seconds", pushesPending = "pushes_pending",
            loginsWaitingOnPush = "logins_waiting_on_push", lastMinute = "last_minute"
    }
}

/// Logins by outcome.
public struct LoginCounts: Codable, Sendable, Equatable {
    public var accepts: Int
    public var rejects: Int
    /// Access-Challenges: a code or a number asked for.
    public var challenges: Int

    public init(accepts: Int = 0, rejects: Int = 0, challenges: Int = 0) {
        self.accepts = accepts
        self.rejects = rejects
        self.challenges = challenges
    }
}

/// What the operations endpoints ask of the running gateway.
public protocol NodeProbe: Sendable {
    func status() async -> NodeStatus
    /// What keeps this node from serving logins, one short line each (`store: …`); empty when it is ready.
    func readinessProblems() async -> [String]
}
