import Crypto
import Foundation

/// Users and their factors as the admin commands and the import manage them.
public protocol UserStore: Sendable {
    func addUser(_ name: String, passwordHash: String?, at time: Date) async throws
    func setPasswordHash(_ hash: String?, for name: String) async throws
    /// The user and their device and enrollment codes.
    func deleteUser(_ name: String) async throws
    /// In name order.
    func users() async throws -> [UserSummary]
    /// One page in name order: at most `limit` users whose name contains `search` (ASCII letters in either case),
    /// after the name `after` (keyset paging: a page costs the same however deep it is).
    func users(matching search: String?, after: String?, limit: Int) async throws -> [UserSummary]
    /// How many users there are, how many have a second factor, how many are locked at `now`.
    func userCounts(now: Date) async throws -> UserCounts
    func user(_ name: String) async throws -> UserSummary?
    /// Stores a new enrollment; refused while one exists (delete it first), so a secret already in an app is never
    /// silently replaced. A new secret starts afresh: no step of it has been used.
    func enrollTOTP(_ enrollment: TOTPEnrollment, for name: String, at time: Date) async throws
    func deleteTOTP(for name: String) async throws
    /// `countersign user unlock NAME`: the lock and the failures before it.
    func unlock(_ username: String) async throws
    /// Imports users in one transaction: all of them, or (on any error) none. `nextBatch` is called inside the
    /// transaction until it returns nil, so that a file of any size streams through. Existing users are an error
    /// unless `updatingExisting`, which sets the password and TOTP secret given. The event `auditEvent` makes of the
    /// summary is written in the same transaction.
    func importUsers(
        updatingExisting: Bool, at time: Date, nextBatch: () throws -> [ImportedUser]?, auditEvent: (ImportSummary) -> AuditEvent
    ) async throws -> ImportSummary
    /// Every user in name order, one at a time (memory stays flat), the TOTP secret decrypted only when asked for.
    func forEachUser(includeSecrets: Bool, _ body: (ExportedUser) throws -> Void) async throws
}

/// Local groups (`countersign group …`): what `[[radius.reply]]` rules match, beside the directory's groups.
public protocol GroupStore: Sendable {
    /// Refused when the group exists.
    func addGroup(_ name: String, at time: Date) async throws
    /// The group and its memberships (the users stay).
    func deleteGroup(_ name: String) async throws
    /// In name order, with their member counts.
    func groups() async throws -> [GroupSummary]
    /// In name order; refused for an unknown group.
    func members(ofGroup name: String) async throws -> [String]
    /// All or none: refused when the group or any user is unknown; a member already is no error.
    func addMembers(_ users: [String], toGroup name: String) async throws
    /// All or none: refused when the group is unknown; a user who is not a member is no error.
    func removeMembers(_ users: [String], fromGroup name: String) async throws
}

public struct GroupSummary: Sendable, Equatable, Codable {
    public var name: String
    public var memberCount: Int

    public init(name: String, memberCount: Int) {
        self.name = name
        self.memberCount = memberCount
    }
}

extension UserStore {
    public func addUser(_ name: String, passwordHash: String?) async throws {
        try await addUser(name, passwordHash: passwordHash, at: Date())
    }

    public func enrollTOTP(_ enrollment: TOTPEnrollment, for name: String) async throws {
        try await enrollTOTP(enrollment, for: name, at: Date())
    }
}

/// Push devices, their single-use enrollment codes, the server's signing key and the gateway-wide push switch.
public protocol DeviceStore: Sendable {
    /// Stores a code (only its hash) that enrolls one device for `user` until `expires`; refused while the user has
    /// a device: one device per user.
    func createEnrollmentCode(_ code: String, for user: String, expires: Date) async throws
    /// Uses up a code: the user it was made for, or nil when it is unknown, already used or expired. A code works
    /// once, also when two redeem it at the same moment.
    func redeemEnrollmentCode(_ code: String, now: Date) async throws -> String?
    /// Refused when the user already has a device.
    func addDevice(_ device: EnrolledDevice) async throws
    func device(id: String) async throws -> EnrolledDevice?
    func device(forUser user: String) async throws -> EnrolledDevice?
    func deleteDevice(forUser user: String) async throws
    func touchDevice(id: String, at time: Date) async throws
    /// The server's P-256 signing key: made on first use (once, also when nodes start together), sealed under the
    /// store key.
    func serverSigningKey() async throws -> P256.Signing.PrivateKey
    /// 32 random octets made on first use under `name` (once, also when nodes start together), sealed under the store
    /// key: the same on every node (the failover join's salt).
    func sharedKey(named name: String) async throws -> [UInt8]
    func setPushEnabled(_ enabled: Bool) async throws
    /// Users whose only second factor is push (what `protect disable` takes away).
    func pushOnlyUsers() async throws -> [String]
}

/// The audit trail.
public protocol AuditStore: Sendable {
    /// Written before it returns.
    func append(_ events: [AuditEvent]) async throws
    /// Queued for the next commit: audit events stay off the reply path. `flush()` waits for what is queued; a
    /// failure goes to `onBackgroundWriteFailure`.
    func appendSoon(_ events: [AuditEvent])
    /// Returns once every write queued so far has committed.
    func flush() async throws
    /// Events in time order: the last `limit` that match, or with `after`, those newer than that id (for --follow).
    func events(user: String?, type: String?, after: Int64?, limit: Int?) async throws -> [StoredEvent]
    /// At most `limit` events that match `filter`, on one side of an id (keyset paging: a page costs the same however
    /// deep it is).
    func events(matching filter: EventFilter, _ side: EventPageSide, limit: Int) async throws -> [StoredEvent]
    /// Who hears of a write that nobody waited for and that failed (the gateway logs it).
    func onBackgroundWriteFailure(_ handler: @escaping @Sendable (_ what: String, _ error: any Error) -> Void)
}

/// Which events of a filter a page holds.
public enum EventPageSide: Sendable, Equatable {
    /// Newest first, older than the id (all when nil).
    case olderThan(Int64?)
    /// Oldest first, newer than the id (the console's live view).
    case newerThan(Int64)

    /// The condition on `id` (with `?` for the id) and the order, as both backends write them.
    public var sql: (condition: String?, id: Int64?, order: String) {
        switch self {
        case .olderThan(let id): (id == nil ? nil : "id < ?", id, "DESC")
        case .newerThan(let id): ("id > ?", id, "ASC")
        }
    }
}

extension AuditStore {
    /// Newest first: at most `limit` events that match `filter`, older than the id `before`.
    public func events(matching filter: EventFilter, before: Int64?, limit: Int) async throws -> [StoredEvent] {
        try await events(matching: filter, .olderThan(before), limit: limit)
    }

    /// Oldest first: at most `limit` events that match `filter`, newer than the id `after`.
    public func events(matching filter: EventFilter, after: Int64, limit: Int) async throws -> [StoredEvent] {
        try await events(matching: filter, .newerThan(after), limit: limit)
    }

    public func events(user: String? = nil, type: String? = nil, after: Int64? = nil, limit: Int? = nil) async throws -> [StoredEvent] {
        try await events(user: user, type: type, after: after, limit: limit)
    }
}

/// Which audit events a query returns: every field that is set must match.
public struct EventFilter: Sendable, Equatable {
    public var user: String?
    public var type: String?
    public var result: AuditResult?
    /// The resource itself or one under it: `admin:web` matches `admin:web` and `admin:web:root`.
    public var resource: String?
    /// From this time on.
    public var since: Date?
    /// Before this time.
    public var until: Date?

    public init(
        user: String? = nil, type: String? = nil, result: AuditResult? = nil, resource: String? = nil, since: Date? = nil,
        until: Date? = nil
    ) {
        self.user = user
        self.type = type
        self.result = result
        self.resource = resource
        self.since = since
        self.until = until
    }
}

/// The settings admins change in the console (`GatewaySettings`), one row every node reads.
public protocol GatewaySettingsStore: Sendable {
    /// No row yet: no override.
    func gatewaySettings() async throws -> GatewaySettings
    func setGatewaySettings(_ settings: GatewaySettings) async throws
}

/// Everything the gateway and the admin commands keep: one implementation per backend (SQLite, PostgreSQL), and
/// nothing above the stores names either.
public protocol GatewayStore: CredentialStore, UserStore, GroupStore, DeviceStore, AuditStore, AdminStore, GatewaySettingsStore,
    InvitationStore, StoreTransfer
{
    /// Nil when the store answers, else what is wrong (`/readyz`).
    func healthProblem() async -> String?
    /// Runs what the store needs while the gateway runs (connections, notifications) until the task is cancelled.
    func run() async throws
}
