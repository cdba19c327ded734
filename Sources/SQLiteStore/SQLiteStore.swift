import Crypto
import Foundation
import GRDB
import MFACore

/// Users, password hashes, encrypted TOTP secrets and audit events in SQLite (WAL), through GRDB.
public final class SQLiteStore: GatewayStore {
    let database: any DatabaseWriter
    let secrets: SecretBox
    /// The login path's writes (used codes, failure counts, audit events), committed in groups.
    let groupCommit: GroupCommit
    /// The login path's reads (ReadConnections), run on `loginReadQueue`.
    let loginReads: ReadConnections
    /// Concurrent: reads run side by side, each on a connection of its own.
    let loginReadQueue = DispatchQueue(label: "countersign.login-read", attributes: .concurrent)
    /// The login path's reads, a pass's worth at a time.
    let loginReadBatches: LoginReadBatches
    /// The database file and a connection of its own for `healthProblem()`; nil in memory.
    let health: HealthCheck?
    /// What logins read, kept coherent with every writer by the `credential_changes` table.
    let credentialsCache: CredentialsCache
    private let backgroundFailureHandler = Locked<@Sendable (String, any Error) -> Void>({ _, _ in })
    private let acceptedSincePrune = Locked(0)
    /// Audit events queued by `appendSoon`, inserted together.
    private let queuedEvents = QueuedEvents()

    /// How long the login path's store operations take (for metrics).
    let timing: StoreTiming?
    /// Runs the WAL's checkpoints off the writer (nil in memory, where there is no WAL, and in short-lived processes).
    let checkpoint: BackgroundCheckpoint?

    /// Opens (creating if needed, mode 0600) the database at `path` and the key file at `keyPath`, and migrates.
    /// With `COUNTERSIGN_STORE_KEY` in `environment`, the key comes from there and no key file is touched.
    /// `checkpointsInBackground`: the WAL is checkpointed by a connection of its own (`BackgroundCheckpoint`), for a
    /// process that runs long (`serve`); a command that ends soon keeps SQLite's own, which its commits run and which
    /// its exit cannot leave undone.
    public static func open(
        path: String, keyPath: String, environment: [String: String] = ProcessInfo.processInfo.environment,
        timing: StoreTiming? = nil, credentialsCache: Int = CredentialsCache.defaultCapacity, endOfTurn: EndOfTurn? = nil,
        checkpointsInBackground: Bool = false
    ) throws -> SQLiteStore {
        let key = try SecretBox.loadKey(keyPath: keyPath, environment: environment)
        if !FileManager.default.fileExists(atPath: path) {
            try StoreFiles.createPrivateFile(at: path, contents: Data())
        }
        var readConfiguration = Configuration()
        readConfiguration.busyMode = .timeout(10)
        let checkpoint = checkpointsInBackground ? BackgroundCheckpoint(path: path, configuration: readConfiguration) : nil
        var configuration = Configuration()
        // Admin commands write while `serve` runs: wait for the lock rather than fail.
        configuration.busyMode = .timeout(10)
        configuration.prepareDatabase { db in
            // WAL with synchronous=NORMAL: durable across process crashes, one fsync per checkpoint.
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
            // The closure keeps `checkpoint` alive as long as the connections that hold it.
            if !db.configuration.readonly { checkpoint?.install(on: db) }
        }
        let pool = try DatabasePool(path: path, configuration: configuration)
        return try SQLiteStore(
            database: pool, secrets: SecretBox(key: key),
            loginReads: ReadConnections(path: path, configuration: readConfiguration, fallback: pool),
            changeLog: { try CredentialChangeLog(path: path, configuration: readConfiguration, fallback: pool) },
            credentialsCache: credentialsCache, health: HealthCheck(path: path), timing: timing, endOfTurn: endOfTurn,
            inlineWriters: InlineWriters(path: path, configuration: configuration), checkpoint: checkpoint)
    }

    /// A private in-memory database, for tests.
    public static func inMemory(key: SymmetricKey = SymmetricKey(size: .bits256)) throws -> SQLiteStore {
        let queue = try DatabaseQueue()
        return try SQLiteStore(
            database: queue, secrets: SecretBox(key: key),
            loginReads: ReadConnections(path: nil, configuration: Configuration(), fallback: queue),
            changeLog: { try CredentialChangeLog(path: nil, configuration: Configuration(), fallback: queue) })
    }

    /// `changeLog` is made once the database is migrated (it reads the table the migrations make).
    private init(
        database: any DatabaseWriter, secrets: SecretBox, loginReads: ReadConnections,
        changeLog: () throws -> CredentialChangeLog, credentialsCache capacity: Int = CredentialsCache.defaultCapacity,
        health: HealthCheck? = nil, timing: StoreTiming? = nil, endOfTurn: EndOfTurn? = nil,
        inlineWriters: InlineWriters? = nil, checkpoint: BackgroundCheckpoint? = nil
    ) throws {
        self.checkpoint = checkpoint
        self.database = database
        self.secrets = secrets
        self.loginReads = loginReads
        self.health = health
        self.timing = timing
        groupCommit = GroupCommit(database: database, timing: timing, endOfTurn: endOfTurn, inlineWriters: inlineWriters)
        loginReadBatches = LoginReadBatches(
            connections: loginReads, inlineWriters: inlineWriters, queue: loginReadQueue, endOfTurn: endOfTurn)
        try Self.migrator.migrate(database)
        let changes = try changeLog()
        credentialsCache = CredentialsCache(capacity: capacity, numberedReads: true) { changes.look() }
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(
                sql: """
                    CREATE TABLE users (
                        name TEXT PRIMARY KEY NOT NULL,
                        password_hash TEXT,
                        created_at REAL NOT NULL,
                        totp_secret BLOB,
                        totp_algorithm TEXT,
                        totp_digits INTEGER,
                        totp_period INTEGER,
                        totp_enrolled_at REAL,
                        totp_last_step INTEGER
                    ) WITHOUT ROWID;
                    CREATE TABLE events (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        time REAL NOT NULL,
                        type TEXT NOT NULL,
                        user TEXT,
                        resource TEXT,
                        client_address TEXT,
                        result TEXT NOT NULL,
                        error TEXT,
                        details TEXT NOT NULL DEFAULT '{}'
                    );
                    CREATE INDEX events_by_user ON events(user, id);
                    CREATE INDEX events_by_type ON events(type, id);
                    """)
        }
        migrator.registerMigration("v2-push") { db in
            try db.execute(
                sql: """
                    CREATE TABLE devices (
                        id TEXT PRIMARY KEY NOT NULL,
                        user TEXT NOT NULL UNIQUE REFERENCES users(name) ON DELETE CASCADE,
                        public_key TEXT NOT NULL,
                        name TEXT NOT NULL,
                        platform TEXT NOT NULL,
                        enrolled_at REAL NOT NULL,
                        last_used REAL
                    );
                    CREATE TABLE enrollment_codes (
                        code_hash BLOB PRIMARY KEY NOT NULL,
                        user TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,
                        expires REAL NOT NULL
                    ) WITHOUT ROWID;
                    CREATE TABLE settings (
                        key TEXT PRIMARY KEY NOT NULL,
                        value BLOB NOT NULL
                    ) WITHOUT ROWID;
                    """)
        }
        migrator.registerMigration("v3-lockout") { db in
            try db.execute(
                sql: """
                    ALTER TABLE users ADD COLUMN failed_attempts INTEGER NOT NULL DEFAULT 0;
                    ALTER TABLE users ADD COLUMN failed_since REAL;
                    ALTER TABLE users ADD COLUMN locked_until REAL;
                    """)
        }
        // The last accepted TOTP step of recently active users, apart from the users table: every login writes one,
        // and in a table of its own those writes land on a few small pages instead of one page per user spread
        // over a table of a million (the growth benchmark). Old rows are pruned; a new or removed secret drops
        // the user's row (the trigger), a deleted user too (the foreign key).
        migrator.registerMigration("v4-used-steps") { db in
            try db.execute(
                sql: """
                    CREATE TABLE totp_used_steps (
                        user TEXT PRIMARY KEY NOT NULL REFERENCES users(name) ON DELETE CASCADE,
                        step INTEGER NOT NULL
                    ) WITHOUT ROWID;
                    CREATE TRIGGER totp_secret_replaced AFTER UPDATE OF totp_secret ON users
                    BEGIN
                        DELETE FROM totp_used_steps WHERE user = NEW.name;
                    END;
                    """)
        }
        // A device's WebAuthn credential (push.require_user_verification); devices enrolled without one keep NULLs.
        migrator.registerMigration("v5-webauthn") { db in
            try db.execute(
                sql: """
                    ALTER TABLE devices ADD COLUMN webauthn_credential_id TEXT;
                    ALTER TABLE devices ADD COLUMN webauthn_public_key TEXT;
                    """)
        }
        // The node that wrote each event (`[node] name`): several nodes may share a store.
        migrator.registerMigration("v6-event-node") { db in
            try db.execute(sql: "ALTER TABLE events ADD COLUMN node TEXT")
        }
        // Local groups, for the reply rules; a deleted user or group takes its memberships along.
        migrator.registerMigration("v7-groups") { db in
            try db.execute(
                sql: """
                    CREATE TABLE user_groups (
                        name TEXT PRIMARY KEY NOT NULL,
                        created_at REAL NOT NULL
                    ) WITHOUT ROWID;
                    CREATE TABLE group_members (
                        group_name TEXT NOT NULL REFERENCES user_groups(name) ON DELETE CASCADE,
                        user TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,
                        PRIMARY KEY (user, group_name)
                    ) WITHOUT ROWID;
                    CREATE INDEX group_members_by_group ON group_members(group_name, user);
                    """)
        }
        // The admin console's accounts, apart from the users; their TOTP secret counts once a first code confirms it.
        migrator.registerMigration("v8-admins") { db in
            try db.execute(
                sql: """
                    CREATE TABLE admins (
                        name TEXT PRIMARY KEY NOT NULL,
                        password_hash TEXT NOT NULL,
                        created_at REAL NOT NULL,
                        totp_secret BLOB,
                        totp_algorithm TEXT,
                        totp_digits INTEGER,
                        totp_period INTEGER,
                        totp_confirmed INTEGER NOT NULL DEFAULT 0,
                        totp_last_step INTEGER,
                        failed_attempts INTEGER NOT NULL DEFAULT 0,
                        failed_since REAL,
                        locked_until REAL
                    ) WITHOUT ROWID;
                    """)
        }
        // Portal invitations: a token's hash, one per user.
        migrator.registerMigration("v9-invitations") { db in
            try db.execute(
                sql: """
                    CREATE TABLE invitations (
                        token_hash BLOB PRIMARY KEY NOT NULL,
                        user TEXT NOT NULL UNIQUE,
                        expires REAL NOT NULL
                    ) WITHOUT ROWID;
                    """)
        }
        // What every writer changed of what a login reads (CredentialChangeLog): the users whose password, secret,
        // lock or failure count changed, or whose device came, changed or went (its last use is not read by a login).
        // A new user needs no entry (only users that exist are cached). About the last thousand entries are kept; a
        // reader further behind drops everything.
        migrator.registerMigration("v10-credential-changes") { db in
            try db.execute(
                sql: """
                    CREATE TABLE credential_changes (id INTEGER PRIMARY KEY AUTOINCREMENT, user TEXT NOT NULL);
                    CREATE TRIGGER credential_changes_pruned AFTER INSERT ON credential_changes WHEN NEW.id % 1024 = 0
                    BEGIN DELETE FROM credential_changes WHERE id <= NEW.id - 1024; END;
                    CREATE TRIGGER user_credentials_changed
                    AFTER UPDATE OF password_hash, totp_secret, totp_algorithm, totp_digits, totp_period, failed_attempts,
                        locked_until ON users
                    BEGIN INSERT INTO credential_changes (user) VALUES (NEW.name); END;
                    CREATE TRIGGER user_deleted AFTER DELETE ON users
                    BEGIN INSERT INTO credential_changes (user) VALUES (OLD.name); END;
                    CREATE TRIGGER device_added AFTER INSERT ON devices
                    BEGIN INSERT INTO credential_changes (user) VALUES (NEW.user); END;
                    CREATE TRIGGER device_changed
                    AFTER UPDATE OF id, user, public_key, name, platform, enrolled_at, webauthn_credential_id,
                        webauthn_public_key ON devices
                    BEGIN INSERT INTO credential_changes (user) VALUES (OLD.user), (NEW.user); END;
                    CREATE TRIGGER device_deleted AFTER DELETE ON devices
                    BEGIN INSERT INTO credential_changes (user) VALUES (OLD.user); END;
                    """)
        }
        // The step each user's row held before its last accepted one, so that a step recorded for an attempt that
        // then failed can be given back (`releaseTOTPStep`: the LDAP proxy checks the code while the directory checks
        // the password).
        migrator.registerMigration("v11-previous-step") { db in
            try db.execute(sql: "ALTER TABLE totp_used_steps ADD COLUMN previous_step INTEGER")
        }
        return migrator
    }

    /// Nothing runs beside an embedded database: waits for the gateway to stop.
    public func run() async throws {
        while !Task.isCancelled { try? await Task.sleep(for: .seconds(3600)) }
    }

    // MARK: Users

    public func addUser(_ name: String, passwordHash: String?, at time: Date) async throws {
        try StoreConventions.validate(username: name)
        try await database.write { db in
            if try Self.exists(name, db) { throw StoreError(.userExists, "user \(name) already exists") }
            try db.execute(
                sql: "INSERT INTO users (name, password_hash, created_at) VALUES (?, ?, ?)",
                arguments: [name, passwordHash, time.timeIntervalSince1970])
        }
    }

    public func setPasswordHash(_ hash: String?, for name: String) async throws {
        try await updateExisting(name, sql: "UPDATE users SET password_hash = ? WHERE name = ?", arguments: [hash, name])
    }

    public func deleteUser(_ name: String) async throws {
        try await database.write { db in
            try db.execute(sql: "DELETE FROM devices WHERE user = ?", arguments: [name])
            try db.execute(sql: "DELETE FROM enrollment_codes WHERE user = ?", arguments: [name])
            try db.execute(sql: "DELETE FROM invitations WHERE user = ?", arguments: [name])
            try db.execute(sql: "DELETE FROM users WHERE name = ?", arguments: [name])
            if db.changesCount == 0 { throw StoreError(.noSuchUser, "no user \(name)") }
        }
    }

    public func users() async throws -> [UserSummary] {
        try await database.read { db in
            try Row.fetchAll(db, sql: "SELECT \(UserSummary.columns) FROM \(UserSummary.tables) ORDER BY users.name").map(UserSummary.init(row:))
        }
    }

    public func users(matching search: String?, after: String?, limit: Int) async throws -> [UserSummary] {
        // instr and lower are byte-wise and fold ASCII only, as PostgreSQL's strpos and lower under COLLATE "C".
        let pattern = StoreConventions.searchPattern(search)
        return try await database.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT \(UserSummary.columns) FROM \(UserSummary.tables)
                    WHERE (?1 IS NULL OR instr(lower(users.name), ?1) > 0) AND (?2 IS NULL OR users.name > ?2)
                    ORDER BY users.name LIMIT ?3
                    """,
                arguments: [pattern, after, limit]
            ).map(UserSummary.init(row:))
        }
    }

    public func userCounts(now: Date) async throws -> UserCounts {
        try await database.read { db in
            let row = try Row.fetchOne(
                db,
                sql: """
                    SELECT count(*) AS users,
                        count(*) FILTER (WHERE totp_secret IS NOT NULL OR EXISTS (SELECT 1 FROM devices WHERE devices.user = users.name))
                            AS enrolled,
                        count(*) FILTER (WHERE locked_until > ?) AS locked
                    FROM users
                    """, arguments: [now.timeIntervalSince1970])!
            return UserCounts(users: row["users"], enrolled: row["enrolled"], locked: row["locked"])
        }
    }

    public func user(_ name: String) async throws -> UserSummary? {
        try await database.read { db in
            try Row.fetchOne(db, sql: "SELECT \(UserSummary.columns) FROM \(UserSummary.tables) WHERE users.name = ?", arguments: [name])
                .map(UserSummary.init(row:))
        }
    }

    // MARK: TOTP

    /// Stores a new enrollment; refused while one exists (delete it first), so a secret already in an app is
    /// never silently replaced.
    public func enrollTOTP(_ enrollment: TOTPEnrollment, for name: String, at time: Date) async throws {
        let sealed = try secrets.seal(enrollment.secret, for: name)
        try await database.write { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT totp_secret FROM users WHERE name = ?", arguments: [name]) else {
                throw StoreError(.noSuchUser, "no user \(name)")
            }
            if row["totp_secret"] as Data? != nil {
                throw StoreError(.alreadyEnrolled, "user \(name) already has TOTP; delete it first")
            }
            try db.execute(
                sql: """
                    UPDATE users SET totp_secret = ?, totp_algorithm = ?, totp_digits = ?, totp_period = ?,
                        totp_enrolled_at = ?, totp_last_step = NULL WHERE name = ?
                    """,
                arguments: [
                    Data(sealed), enrollment.parameters.algorithm.rawValue, enrollment.parameters.digits,
                    enrollment.parameters.period, time.timeIntervalSince1970, name,
                ])
        }
    }

    public func deleteTOTP(for name: String) async throws {
        try await database.write { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT totp_secret FROM users WHERE name = ?", arguments: [name]) else {
                throw StoreError(.noSuchUser, "no user \(name)")
            }
            if row["totp_secret"] as Data? == nil { throw StoreError(.notEnrolled, "user \(name) has no TOTP") }
            try db.execute(
                sql: """
                    UPDATE users SET totp_secret = NULL, totp_algorithm = NULL, totp_digits = NULL, totp_period = NULL,
                        totp_enrolled_at = NULL, totp_last_step = NULL WHERE name = ?
                    """,
                arguments: [name])
        }
    }

    // MARK: Events

    public func append(_ events: [AuditEvent]) async throws {
        try await groupCommit.write(.singleStatement) { db in try EventRows.insert(events, db) }
    }

    /// Queues `events` for a group commit and returns at once: audit events stay off the reply path, and out of a
    /// login's commit at low load (`GroupCommit`, apart). `flush()` waits for what is queued; a failure goes to
    /// `onBackgroundWriteFailure`.
    public func appendSoon(_ events: [AuditEvent]) {
        queuedEvents.add(events)
        groupCommit.enqueue(
            .singleStatement, apart: true, { [queuedEvents] db in try queuedEvents.insertQueued(db) },
            failed: { self.backgroundWriteFailed("storing audit events", $0) })
    }

    /// Who hears of a write that nobody waited for and that failed (the gateway logs it).
    public func onBackgroundWriteFailure(_ handler: @escaping @Sendable (_ what: String, _ error: any Error) -> Void) {
        backgroundFailureHandler.withLock { $0 = handler }
    }

    func backgroundWriteFailed(_ what: String, _ error: any Error) {
        backgroundFailureHandler.withLock { $0 }(what, error)
    }

    /// Returns once every write queued so far (audit events, failure counts) has committed.
    public func flush() async throws {
        try await groupCommit.flush()
    }

    /// Events in time order: the last `limit` that match, or with `after`, those newer than that id (for --follow).
    public func events(user: String? = nil, type: String? = nil, after: Int64? = nil, limit: Int? = nil) async throws -> [StoredEvent] {
        try await flush()
        return try await database.read { db in
            var conditions: [String] = []
            var arguments: StatementArguments = []
            if let user { conditions.append("user = ?"); arguments += [user] }
            if let type { conditions.append("type = ?"); arguments += [type] }
            if let after { conditions.append("id > ?"); arguments += [after] }
            let whereClause = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
            let sql: String
            if let limit {
                arguments += [limit]
                sql = "SELECT * FROM (SELECT * FROM events \(whereClause) ORDER BY id DESC LIMIT ?) ORDER BY id"
            } else {
                sql = "SELECT * FROM events \(whereClause) ORDER BY id"
            }
            return try Row.fetchAll(db, sql: sql, arguments: arguments).map(StoredEvent.init(row:))
        }
    }

    public func events(matching filter: EventFilter, _ side: EventPageSide, limit: Int) async throws -> [StoredEvent] {
        let (idCondition, id, order) = side.sql
        try await flush()
        return try await database.read { db in
            var conditions: [String] = []
            var arguments: StatementArguments = []
            if let user = filter.user { conditions.append("user = ?"); arguments += [user] }
            if let type = filter.type { conditions.append("type = ?"); arguments += [type] }
            if let result = filter.result { conditions.append("result = ?"); arguments += [result.rawValue] }
            if let resource = filter.resource {
                // The resource itself, or one under it (a prefix up to a colon), without LIKE's wildcards.
                let under = resource + ":"
                conditions.append("(resource = ? OR substr(resource, 1, ?) = ?)")
                arguments += [resource, under.unicodeScalars.count, under]
            }
            if let since = filter.since { conditions.append("time >= ?"); arguments += [since.timeIntervalSince1970] }
            if let until = filter.until { conditions.append("time < ?"); arguments += [until.timeIntervalSince1970] }
            if let idCondition, let id { conditions.append(idCondition); arguments += [id] }
            let whereClause = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
            arguments += [limit]
            return try Row.fetchAll(db, sql: "SELECT * FROM events \(whereClause) ORDER BY id \(order) LIMIT ?", arguments: arguments)
                .map(StoredEvent.init(row:))
        }
    }

    // MARK: Helpers

    private func updateExisting(_ name: String, sql: String, arguments: StatementArguments) async throws {
        try await database.write { db in
            try db.execute(sql: sql, arguments: arguments)
            if db.changesCount == 0 { throw StoreError(.noSuchUser, "no user \(name)") }
        }
    }

    private static func exists(_ name: String, _ db: Database) throws -> Bool {
        try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM users WHERE name = ?)", arguments: [name]) ?? false
    }
}

extension SQLiteStore: CredentialStore {
    /// From memory when the user was read before and nothing changed it since (`CredentialsCache`); else from the
    /// database, on the read queue.
    public func credentials(for username: String) async throws -> UserCredentials? {
        try await credentials(for: username, received: nil)
    }

    public func credentials(for username: String, received: ContinuousClock.Instant) async throws -> UserCredentials? {
        try await credentials(for: username, received: Optional(received))
    }

    private func credentials(for username: String, received: ContinuousClock.Instant?) async throws -> UserCredentials? {
        try await credentialsCache.credentials(for: username, received: received, secrets: secrets, timing: timing) {
            try await loginReadBatches.read { db in
                let started = ContinuousClock.now
                defer { self.timing?(.credentialsRead, .now - started) }
                return try Self.sealedCredentials(for: username, db)
            }
        }
    }

    /// Runs a login-path read on the read queue, not on the caller's event loop: with a large store the page may
    /// have to come from disk (BENCHMARKS.md, growth), and a loop waiting for it would hold every other request.
    func onLoginReadQueue<T: Sendable>(_ read: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            loginReadQueue.async { continuation.resume(with: Result { try read() }) }
        }
    }

    /// Synchronous, so that its locals stay off the login task's async frames, which a login waiting on a push keeps.
    @inline(never)
    static func sealedCredentials(for username: String, _ db: Database) throws -> SealedCredentials? {
        // By position (the query's column order): a lookup by name costs more than the rest of the row.
        try ColumnsCursor.first(db.cachedStatement(sql: Self.credentialsQuery), binding: { $0.bind(username) }) { columns in
            SealedCredentials(
                passwordHash: columns.string(0), sealedSecret: columns.bytes(1), algorithm: columns.string(2),
                digits: columns.int(3), period: columns.int(4), device: EnrolledDevice(columns, from: 8),
                lockedUntil: columns.double(5), failedAttempts: columns.int(6) ?? 0, newestChangeSeen: columns.int64(7))
        }
    }

    /// The newest change number comes from the same statement, so from the same snapshot as the row: a change with
    /// a higher number was committed after the read (`CredentialsCache`, numbered reads).
    private static let credentialsQuery = """
        SELECT users.password_hash, users.totp_secret, users.totp_algorithm, users.totp_digits, users.totp_period,
            users.locked_until, users.failed_attempts, (SELECT ifnull(max(id), 0) FROM credential_changes),
            \(EnrolledDevice.columns("devices"))
        FROM users LEFT JOIN devices ON devices.user = users.name WHERE users.name = ?
        """

    public func recordAcceptedTOTPStep(_ step: Int64, for username: String) async throws -> Bool {
        // One statement: two racing requests with the same code cannot both see "not yet used". Committed (in a
        // group with other logins' writes) before the reply goes out, so a restart cannot reopen the code. The
        // users table's totp_last_step is the record from before totp_used_steps existed.
        let accepted = try await groupCommit.write(.singleStatement) { db in
            try db.cachedStatement(
                sql: """
                    INSERT INTO totp_used_steps (user, step)
                    SELECT name, ?2 FROM users WHERE name = ?1 AND (totp_last_step IS NULL OR totp_last_step < ?2)
                    ON CONFLICT(user) DO UPDATE SET step = excluded.step, previous_step = totp_used_steps.step
                    WHERE excluded.step > totp_used_steps.step
                    """
            ).execute { $0.bind(username); $0.bind(step) }
            return db.changesCount == 1
        }
        if accepted && acceptedSincePrune.withLock({ count in
            count += 1
            guard count >= Self.pruneEvery else { return false }
            count = 0
            return true
        }) {
            pruneUsedSteps(before: step - Self.usedStepsKept)
        }
        return accepted
    }

    public func releaseTOTPStep(_ step: Int64, for username: String) async throws {
        // Back to the step before, only while `step` is still the last one: a later step recorded meanwhile stays.
        // A row that had no step before goes (the users table's totp_last_step still holds the older record).
        try await groupCommit.write(.savepoint) { db in
            try db.cachedStatement(
                sql: "UPDATE totp_used_steps SET step = previous_step, previous_step = NULL WHERE user = ?1 AND step = ?2 AND previous_step IS NOT NULL"
            ).execute(arguments: [username, step])
            try db.cachedStatement(sql: "DELETE FROM totp_used_steps WHERE user = ?1 AND step = ?2 AND previous_step IS NULL")
                .execute(arguments: [username, step])
        }
    }

    static let usedStepsKept = StoreConventions.usedStepsKept
    static let pruneEvery = StoreConventions.usedStepsPruneEvery

    private func pruneUsedSteps(before step: Int64) {
        groupCommit.enqueue(
            .singleStatement, { db in try db.execute(sql: "DELETE FROM totp_used_steps WHERE step < ?", arguments: [step]) },
            failed: { self.backgroundWriteFailed("pruning used TOTP steps", $0) })
    }
}

extension UserSummary {
    static let columns =
        "users.name, users.password_hash IS NOT NULL AS has_password, users.created_at, users.totp_secret IS NOT NULL AS totp, "
        + "users.totp_enrolled_at, users.locked_until, \(EnrolledDevice.columns("devices"))"
    static let tables = "users LEFT JOIN devices ON devices.user = users.name"

    init(row: Row) {
        self.init(
            name: row["name"], hasPassword: row["has_password"], createdAt: Date(timeIntervalSince1970: row["created_at"]),
            totpEnrolled: row["totp"], totpEnrolledAt: (row["totp_enrolled_at"] as Double?).map(Date.init(timeIntervalSince1970:)),
            device: (row["device_id"] as String?) != nil ? EnrolledDevice(row: row) : nil,
            lockedUntil: (row["locked_until"] as Double?).map(Date.init(timeIntervalSince1970:)))
    }
}

extension StoredEvent {
    init(row: Row) {
        self.init(
            id: row["id"],
            event: AuditEvent(
                time: Date(timeIntervalSince1970: row["time"]), type: AuditEventType(rawValue: row["type"]), user: row["user"],
                resource: row["resource"], clientAddress: row["client_address"],
                result: AuditResult(rawValue: row["result"]) ?? .failure, error: row["error"],
                details: Self.decodeDetails(row["details"]), node: row["node"]))
    }
}
