import DeviceProtocol
import Foundation

/// What the nodes of a cluster share beyond users and devices: challenge States and pending pushes. A single node
/// keeps both in memory (`ChallengeBook`'s default store, no `PushCluster`); PostgreSQL shares them.

/// A challenge State's record, kept under the hash of the State (a bearer token: the store never holds it).
public struct StoredChallenge: Sendable, Equatable {
    public var username: String
    public var resource: Resource
    public var clientAddress: String
    public var expires: Date
    /// Number matching: the push whose number answers it.
    public var pushID: String?
    /// What the primary check granted before the challenge went out, for the Accept its answer earns.
    public var grant: Grant
    /// The primary check's own question (an upstream RADIUS server's challenge): its State, which the answer goes
    /// back to the primary with.
    public var primaryState: [UInt8]?

    public init(
        username: String, resource: Resource, clientAddress: String, expires: Date, pushID: String?, grant: Grant = Grant(),
        primaryState: [UInt8]? = nil
    ) {
        self.username = username
        self.resource = resource
        self.clientAddress = clientAddress
        self.expires = expires
        self.pushID = pushID
        self.grant = grant
        self.primaryState = primaryState
    }
}

/// Outstanding challenges: issued on one node, taken once on any.
public protocol ChallengeStore: Sendable {
    /// Keeps the challenge until it is taken or expires; false when `capacity` unexpired ones are kept already.
    func issueChallenge(stateHash: [UInt8], _ challenge: StoredChallenge, capacity: Int, now: Date) async throws -> Bool
    /// Takes the challenge out (it is used up whatever the caller decides): nil when unknown or taken already, also
    /// when two nodes take it at the same moment.
    func takeChallenge(stateHash: [UInt8]) async throws -> StoredChallenge?
}

/// A push as every node sees it: enough to hand it to its device on any node, check an answer there, and join it.
public struct SharedPush: Sendable, Equatable {
    public var message: PushMessage
    public var devicePublicKey: String
    public var webAuthn: WebAuthnCredential?
    /// Its user and resource are the limiter's key.
    public var resource: Resource
    /// The failover join: the same attempt arriving at another node waits for this push.
    public var joinKey: String?
    /// Nobody waits while it is out: the challenge response claims the outcome.
    public var numberMatching: Bool
    /// Set once answered, timed out or cancelled; nil while pending.
    public var outcome: PushCoordinator.Outcome?
    /// Number matching: the number the device showed after approving.
    public var number: String?

    public init(
        message: PushMessage, devicePublicKey: String, webAuthn: WebAuthnCredential?, resource: Resource, joinKey: String?,
        numberMatching: Bool, outcome: PushCoordinator.Outcome? = nil, number: String? = nil
    ) {
        self.message = message
        self.devicePublicKey = devicePublicKey
        self.webAuthn = webAuthn
        self.resource = resource
        self.joinKey = joinKey
        self.numberMatching = numberMatching
        self.outcome = outcome
        self.number = number
    }
}

/// What `PushCluster.publish` did with a new push.
public enum PushPublication: Sendable, Equatable {
    case created
    /// A pending push has the same join key: wait for that one instead (this one was not stored).
    case joined(SharedPush)
    /// The limiter's count for the push's user and resource is full (counted over every node).
    case limited
}

/// What other nodes did, in the order the store saw it.
public enum PushClusterChange: Sendable, Equatable {
    case created(SharedPush)
    case resolved(pushID: String, outcome: PushCoordinator.Outcome, number: String?)
    /// The feed was interrupted (a reconnect): what is pending must be read again, as changes may have been missed.
    case resynchronize
    /// A device holds a poll open on some node: it counts as connected on every node for a while.
    case deviceSeen(deviceID: String)
}

/// Pending pushes and their outcomes, shared by the nodes: a push created by a login on one node reaches its device
/// through any node, and its answer there releases the login.
public protocol PushCluster: Sendable {
    /// Stores a new push unless a pending one has its join key (`.joined`) or the limiter refuses it (`limit`, counted
    /// over the pending pushes of every node, unless its resource kind is exempt), atomically.
    func publish(_ push: SharedPush, limit: PushLimiter.Settings, now: Date) async throws -> PushPublication
    /// Records an outcome; the first one wins (false: it had one).
    func resolve(pushID: String, outcome: PushCoordinator.Outcome, number: String?) async throws -> Bool
    /// Every pending push that has not expired at `now`.
    func pendingPushes(now: Date) async throws -> [SharedPush]
    /// One push, pending or resolved (kept a while after), or nil.
    func push(id: String) async throws -> SharedPush?
    /// Tells the other nodes that a device polls here (`.deviceSeen`); nothing is stored.
    func announceDevice(_ deviceID: String) async throws
    /// Changes as they happen, this node's own included (the receiver skips what it knows). Starts with
    /// `.resynchronize`, and says it again after every interruption.
    func changes() -> AsyncStream<PushClusterChange>
}
