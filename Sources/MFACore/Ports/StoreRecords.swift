import Foundation

/// The store operations on the login path that are timed.
public enum StoreOperation: String, Sendable, CaseIterable {
    /// A user's credentials read from the database for a login.
    case credentialsRead = "credentials_read"
    /// A user's credentials found in memory for a login (CredentialsCache), the look for changes included.
    case credentialsCached = "credentials_cached"
    /// One group transaction of the login path's writes, committed.
    case commit
}

public typealias StoreTiming = @Sendable (StoreOperation, Duration) -> Void

/// A user as the admin commands show it: no secret in it.
public struct UserSummary: Sendable, Equatable, Codable {
    public var name: String
    public var hasPassword: Bool
    public var createdAt: Date
    public var totpEnrolled: Bool
    public var totpEnrolledAt: Date?
    /// The push device, if one is enrolled.
    public var device: EnrolledDevice?
    /// Set while the user is locked out (or was, until the next login clears it).
    public var lockedUntil: Date?

    public init(
        name: String, hasPassword: Bool, createdAt: Date, totpEnrolled: Bool, totpEnrolledAt: Date?, device: EnrolledDevice?,
        lockedUntil: Date?
    ) {
        self.name = name
        self.hasPassword = hasPassword
        self.createdAt = createdAt
        self.totpEnrolled = totpEnrolled
        self.totpEnrolledAt = totpEnrolledAt
        self.device = device
        self.lockedUntil = lockedUntil
    }
}

/// The figures at the top of the console's user list.
public struct UserCounts: Sendable, Equatable {
    public var users: Int
    /// Users with TOTP or a push device (or both).
    public var enrolled: Int
    public var locked: Int

    public init(users: Int, enrolled: Int, locked: Int) {
        self.users = users
        self.enrolled = enrolled
        self.locked = locked
    }
}

/// An audit event as stored: its id orders events and lets `events --follow` ask for the newer ones.
public struct StoredEvent: Sendable, Equatable {
    public var id: Int64
    public var event: AuditEvent

    public init(id: Int64, event: AuditEvent) {
        self.id = id
        self.event = event
    }

    /// `details` as the stores keep it: a JSON object of strings.
    public static func decodeDetails(_ json: String?) -> [String: String] {
        json.flatMap { try? JSONDecoder().decode([String: String].self, from: Data($0.utf8)) } ?? [:]
    }

    /// A JSON object with sorted keys (RFC 8259 §7 escaping). Written by hand: every login stores one or two events,
    /// and Foundation's JSONEncoder cost more than the rest of the event's insert.
    public static func encodeDetails(_ details: [String: String]) -> String {
        var out: [UInt8] = [UInt8(ascii: "{")]
        out.reserveCapacity(64)
        for (index, entry) in details.sorted(by: { $0.key < $1.key }).enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            JSONText.appendQuoted(entry.key, to: &out)
            out.append(UInt8(ascii: ":"))
            JSONText.appendQuoted(entry.value, to: &out)
        }
        out.append(UInt8(ascii: "}"))
        return String(decoding: out, as: UTF8.self)
    }
}

/// A user as bulk import writes it: the password already hashed, the TOTP secret in the clear (sealed by the store).
public struct ImportedUser: Sendable {
    /// The line of the import file it came from, for the errors only the store can see (an existing user).
    public var line: Int
    public var name: String
    public var passwordHash: String?
    public var totpSecret: [UInt8]?
    /// The groups the user is to be a member of, made when missing; nil when the file has no `groups` column, so an
    /// update leaves the memberships alone ([] takes the user out of every group).
    public var groups: [String]?

    public init(line: Int, name: String, passwordHash: String?, totpSecret: [UInt8]?, groups: [String]? = nil) {
        self.line = line
        self.name = name
        self.passwordHash = passwordHash
        self.totpSecret = totpSecret
        self.groups = groups
    }

    /// The import's readers check group names already; this is the store keeping its own rule, naming the line.
    public func validateGroupNames() throws {
        for group in groups ?? [] {
            do {
                try StoreConventions.validate(groupName: group)
            } catch let error as StoreError {
                throw StoreError(error.code, "line \(line): \(error.message)")
            }
        }
    }
}

public struct ImportSummary: Sendable, Equatable {
    public var added = 0
    public var updated = 0
    /// Groups the file named that did not exist yet.
    public var groupsCreated = 0
    public var count: Int { added + updated }

    public init(added: Int = 0, updated: Int = 0, groupsCreated: Int = 0) {
        self.added = added
        self.updated = updated
        self.groupsCreated = groupsCreated
    }
}

/// A user as export reads it; the secret only when asked for.
public struct ExportedUser: Sendable, Equatable {
    public var name: String
    public var hasPassword: Bool
    public var totpEnrolled: Bool
    public var hasDevice: Bool
    public var totpSecret: [UInt8]?
    /// The user's local groups, in name order.
    public var groups: [String]

    public init(name: String, hasPassword: Bool, totpEnrolled: Bool, hasDevice: Bool, totpSecret: [UInt8]?, groups: [String] = []) {
        self.name = name
        self.hasPassword = hasPassword
        self.totpEnrolled = totpEnrolled
        self.hasDevice = hasDevice
        self.totpSecret = totpSecret
        self.groups = groups
    }
}

/// What a backup, a restore or a copy between stores copied.
public struct StoreCopySummary: Sendable, Equatable {
    public var users: Int
    public var devices: Int
    public var groups: Int
    /// The admin console's accounts.
    public var admins: Int
    /// Portal invitations not redeemed yet.
    public var invitations: Int

    public init(users: Int, devices: Int, groups: Int = 0, admins: Int = 0, invitations: Int = 0) {
        self.users = users
        self.devices = devices
        self.groups = groups
        self.admins = admins
        self.invitations = invitations
    }

    /// "3 users and 1 devices", groups, admins and invitations named only when there are some (what scripts matched
    /// before they existed): "3 users, 2 groups, 1 admins and 1 devices".
    public var counts: String {
        let named = [(groups, "groups"), (admins, "admins"), (invitations, "invitations")].filter { $0.0 > 0 }
        return (["\(users) users"] + named.map { "\($0.0) \($0.1)" }).joined(separator: ", ") + " and \(devices) devices"
    }
}

/// A user's row as `store copy` moves it between stores: the TOTP secret stays sealed (both stores share the store
/// key), the used step and the lockout state come along.
public struct UserRecord: Sendable, Equatable, Codable {
    public var name: String
    public var passwordHash: String?
    public var createdAt: Date
    public var sealedTOTPSecret: [UInt8]?
    public var totpParameters: TOTPParameters?
    public var totpEnrolledAt: Date?
    /// The last accepted TOTP step: a code used before the copy stays used after it.
    public var lastUsedStep: Int64?
    public var failedAttempts: Int
    public var failedSince: Date?
    public var lockedUntil: Date?

    public init(
        name: String, passwordHash: String?, createdAt: Date, sealedTOTPSecret: [UInt8]?, totpParameters: TOTPParameters?,
        totpEnrolledAt: Date?, lastUsedStep: Int64?, failedAttempts: Int, failedSince: Date?, lockedUntil: Date?
    ) {
        self.name = name
        self.passwordHash = passwordHash
        self.createdAt = createdAt
        self.sealedTOTPSecret = sealedTOTPSecret
        self.totpParameters = totpParameters
        self.totpEnrolledAt = totpEnrolledAt
        self.lastUsedStep = lastUsedStep
        self.failedAttempts = failedAttempts
        self.failedSince = failedSince
        self.lockedUntil = lockedUntil
    }
}

/// An admin console account's row as `store copy` moves it: the TOTP secret stays sealed (under the admin's sealing
/// name, with the store key both stores share), the used step and the lockout state come along.
public struct AdminRecord: Sendable, Equatable, Codable {
    public var name: String
    public var passwordHash: String
    public var createdAt: Date
    public var sealedTOTPSecret: [UInt8]?
    public var totpParameters: TOTPParameters?
    public var totpConfirmed: Bool
    /// The last accepted TOTP step: a code used before the copy stays used after it.
    public var lastUsedStep: Int64?
    public var failedAttempts: Int
    public var failedSince: Date?
    public var lockedUntil: Date?

    public init(
        name: String, passwordHash: String, createdAt: Date, sealedTOTPSecret: [UInt8]?, totpParameters: TOTPParameters?,
        totpConfirmed: Bool, lastUsedStep: Int64?, failedAttempts: Int, failedSince: Date?, lockedUntil: Date?
    ) {
        self.name = name
        self.passwordHash = passwordHash
        self.createdAt = createdAt
        self.sealedTOTPSecret = sealedTOTPSecret
        self.totpParameters = totpParameters
        self.totpConfirmed = totpConfirmed
        self.lastUsedStep = lastUsedStep
        self.failedAttempts = failedAttempts
        self.failedSince = failedSince
        self.lockedUntil = lockedUntil
    }
}

/// One thing a store holds, as `store copy` moves it.
public enum StoreRecord: Sendable, Equatable, Codable {
    case user(UserRecord)
    case device(EnrolledDevice)
    /// A setting as stored: sealed ones (the server's signing key, shared keys) stay sealed under their label.
    case setting(key: String, value: [UInt8])
    case event(AuditEvent)
    /// A local group, also one without members; after the users.
    case group(name: String, createdAt: Date)
    /// One membership, after its group.
    case groupMember(group: String, user: String)
    case admin(AdminRecord)
    /// A portal invitation as stored (the token's SHA-256 only), after its user.
    case invitation(tokenHash: [UInt8], user: String, expires: Date)
}

/// `countersign store copy`: everything out of one store and into another, SQLite to PostgreSQL and back.
public protocol StoreTransfer: Sendable {
    /// Every record, users before the devices, memberships and invitations that name them, groups before their members,
    /// events in time order.
    func forEachRecord(_ body: (StoreRecord) throws -> Void) async throws
    /// Writes the records `next` gives into this store, in one transaction; refused (`StoreError.storeNotEmpty`)
    /// when the store holds a user, a group, an admin or an event already.
    func load(_ next: () throws -> StoreRecord?) async throws -> StoreCopySummary
}

extension StoreError {
    /// What `StoreTransfer.load` throws, whichever the store: what the target holds would clash with the copy.
    public static let targetNotEmpty = StoreError(
        .storeNotEmpty, "the target store holds users, groups, admins or events already: copy only into an empty store")
}
