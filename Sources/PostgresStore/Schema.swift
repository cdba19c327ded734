import Foundation
import MFACore
import PostgresNIO

/// The store's tables, as numbered migrations recorded in `schema_migrations`. The same rows as SQLiteStore's schema,
/// in PostgreSQL's types: times are double precision Unix seconds, as in SQLite, and user names are `COLLATE "C"` so
/// that "in name order" is byte order there too. The user columns are `username`: USER is a reserved word in
/// PostgreSQL, and an unquoted `user` in a query reads the session's role instead of the column.
enum Schema {
    struct Migration {
        var version: Int64
        /// One statement each (they run one by one in a DO block: `block`).
        var statements: [String]
    }

    static let migrations: [Migration] = [
        Migration(
            version: 1,
            statements: [
                """
                CREATE TABLE users (
                    name text COLLATE "C" PRIMARY KEY,
                    password_hash text,
                    created_at double precision NOT NULL,
                    totp_secret bytea,
                    totp_algorithm text,
                    totp_digits bigint,
                    totp_period bigint,
                    totp_enrolled_at double precision,
                    failed_attempts bigint NOT NULL DEFAULT 0,
                    failed_since double precision,
                    locked_until double precision
                )
                """,
                // The last accepted TOTP step, one row a user (the atomic upsert of recordAcceptedTOTPStep).
                """
                CREATE TABLE totp_used_steps (
                    username text COLLATE "C" PRIMARY KEY REFERENCES users(name) ON DELETE CASCADE,
                    step bigint NOT NULL
                )
                """,
                """
                CREATE FUNCTION countersign_totp_secret_replaced() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    DELETE FROM totp_used_steps WHERE username = NEW.name;
                    RETURN NULL;
                END
                $$
                """,
                // A new or removed secret starts afresh: no step of it has been used.
                """
                CREATE TRIGGER totp_secret_replaced AFTER UPDATE OF totp_secret ON users
                FOR EACH ROW WHEN (OLD.totp_secret IS DISTINCT FROM NEW.totp_secret)
                EXECUTE FUNCTION countersign_totp_secret_replaced()
                """,
                """
                CREATE TABLE devices (
                    id text PRIMARY KEY,
                    username text COLLATE "C" NOT NULL UNIQUE REFERENCES users(name) ON DELETE CASCADE,
                    public_key text NOT NULL,
                    name text NOT NULL,
                    platform text NOT NULL,
                    enrolled_at double precision NOT NULL,
                    last_used double precision,
                    webauthn_credential_id text,
                    webauthn_public_key text
                )
                """,
                """
                CREATE TABLE enrollment_codes (
                    code_hash bytea PRIMARY KEY,
                    username text COLLATE "C" NOT NULL REFERENCES users(name) ON DELETE CASCADE,
                    expires double precision NOT NULL
                )
                """,
                "CREATE TABLE settings (key text PRIMARY KEY, value bytea NOT NULL)",
                """
                CREATE TABLE events (
                    id bigserial PRIMARY KEY,
                    time double precision NOT NULL,
                    type text NOT NULL,
                    username text COLLATE "C",
                    resource text,
                    client_address text,
                    result text NOT NULL,
                    error text,
                    details text NOT NULL DEFAULT '{}',
                    node text
                )
                """,
                "CREATE INDEX events_by_user ON events (username, id)",
                "CREATE INDEX events_by_type ON events (type, id)",
                // Challenge States, kept under their SHA-256 (a State is a bearer token).
                """
                CREATE TABLE challenges (
                    state_hash bytea PRIMARY KEY,
                    username text COLLATE "C" NOT NULL,
                    resource_kind text NOT NULL,
                    resource_name text NOT NULL,
                    client_address text NOT NULL,
                    expires double precision NOT NULL,
                    push_id text
                )
                """,
                "CREATE INDEX challenges_by_expiry ON challenges (expires)",
                // Pushes, pending while `outcome` is NULL; `message` is the PushMessage as the device API's JSON.
                """
                CREATE TABLE pushes (
                    id text PRIMARY KEY,
                    device_id text NOT NULL,
                    username text COLLATE "C" NOT NULL,
                    resource_kind text NOT NULL,
                    resource_name text NOT NULL,
                    join_key text,
                    message text NOT NULL,
                    device_public_key text NOT NULL,
                    webauthn_credential_id text,
                    webauthn_public_key text,
                    number_matching boolean NOT NULL,
                    created double precision NOT NULL,
                    expires double precision NOT NULL,
                    outcome text,
                    number text,
                    resolved_at double precision
                )
                """,
                // One pending push per join key: publish's INSERT … ON CONFLICT finds the one to join.
                "CREATE UNIQUE INDEX pushes_pending_join_key ON pushes (join_key) WHERE outcome IS NULL",
                // The limiter's count.
                "CREATE INDEX pushes_pending_by_user ON pushes (username, resource_kind, resource_name) WHERE outcome IS NULL",
            ]),
        // Local groups for the reply rules; a challenge keeps what the primary check granted, and the primary's own
        // question (an upstream RADIUS server's State).
        Migration(
            version: 2,
            statements: [
                """
                CREATE TABLE user_groups (
                    name text COLLATE "C" PRIMARY KEY,
                    created_at double precision NOT NULL
                )
                """,
                """
                CREATE TABLE group_members (
                    group_name text COLLATE "C" NOT NULL REFERENCES user_groups (name) ON DELETE CASCADE,
                    username text COLLATE "C" NOT NULL REFERENCES users (name) ON DELETE CASCADE,
                    PRIMARY KEY (username, group_name)
                )
                """,
                "CREATE INDEX group_members_by_group ON group_members (group_name, username)",
                "ALTER TABLE challenges ADD COLUMN grant_json text",
                "ALTER TABLE challenges ADD COLUMN primary_state bytea",
            ]),
        // The admin console's accounts, apart from the users; their TOTP secret counts once a first code confirms it.
        Migration(
            version: 3,
            statements: [
                """
                CREATE TABLE admins (
                    name text COLLATE "C" PRIMARY KEY,
                    password_hash text NOT NULL,
                    created_at double precision NOT NULL,
                    totp_secret bytea,
                    totp_algorithm text,
                    totp_digits bigint,
                    totp_period bigint,
                    totp_confirmed boolean NOT NULL DEFAULT false,
                    totp_last_step bigint,
                    failed_attempts bigint NOT NULL DEFAULT 0,
                    failed_since double precision,
                    locked_until double precision
                )
                """
            ]),
        // Portal invitations: a token's hash, one per user.
        Migration(
            version: 4,
            statements: [
                """
                CREATE TABLE invitations (
                    token_hash bytea PRIMARY KEY,
                    username text COLLATE "C" NOT NULL UNIQUE REFERENCES users (name) ON DELETE CASCADE,
                    expires double precision NOT NULL
                )
                """
            ]),
        // What logins read, announced when it changes (`countersign_credentials`, payload: the user name), so that
        // every node's credentials cache drops it (CredentialsCache). A new user needs no notice: only users that
        // exist are cached; a device's last use is not read by a login.
        Migration(
            version: 5,
            statements: [
                """
                CREATE FUNCTION countersign_user_credentials_changed() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    IF TG_OP = 'DELETE' THEN
                        PERFORM pg_notify('countersign_credentials', OLD.name);
                    ELSE
                        PERFORM pg_notify('countersign_credentials', NEW.name);
                    END IF;
                    RETURN NULL;
                END
                $$
                """,
                """
                CREATE TRIGGER user_credentials_changed
                AFTER UPDATE OF password_hash, totp_secret, totp_algorithm, totp_digits, totp_period, failed_attempts,
                    locked_until OR DELETE ON users
                FOR EACH ROW EXECUTE FUNCTION countersign_user_credentials_changed()
                """,
                """
                CREATE FUNCTION countersign_device_changed() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    IF TG_OP <> 'INSERT' THEN
                        PERFORM pg_notify('countersign_credentials', OLD.username);
                    END IF;
                    IF TG_OP <> 'DELETE' THEN
                        PERFORM pg_notify('countersign_credentials', NEW.username);
                    END IF;
                    RETURN NULL;
                END
                $$
                """,
                """
                CREATE TRIGGER device_changed
                AFTER INSERT OR UPDATE OF id, username, public_key, name, platform, enrolled_at, webauthn_credential_id,
                    webauthn_public_key OR DELETE ON devices
                FOR EACH ROW EXECUTE FUNCTION countersign_device_changed()
                """,
            ]),
        // The step each user's row held before its last accepted one, so that a step recorded for an attempt that
        // then failed can be given back (`releaseTOTPStep`).
        Migration(version: 6, statements: ["ALTER TABLE totp_used_steps ADD COLUMN previous_step bigint"]),
    ]

    /// Taken by every node's migration transaction, so nodes starting together on an empty database migrate once:
    /// the others wait, then find the versions recorded. (The 64-bit key space of advisory locks, §9.27.10.)
    static let migrationLock: Int64 = 0x436F_756E_7465_7273  // "Counters"

    /// Brings the database up to the newest version in one transaction; refuses one a newer Countersign migrated.
    static func migrate(_ connection: PostgresConnection) async throws {
        try await connection.transaction { connection in
            try await connection.run("SELECT pg_advisory_xact_lock(\(migrationLock))")
            try await connection.run(
                "CREATE TABLE IF NOT EXISTS schema_migrations (version bigint PRIMARY KEY, applied_at double precision NOT NULL)")
            let applied = Set(
                try await connection.rows("SELECT version FROM schema_migrations").map { try $0.get("version", as: Int64.self) })
            let known = migrations.map(\.version)
            if let newest = applied.max(), newest > known.max() ?? 0 {
                throw StoreError(
                    .io, "the database is at schema version \(newest), made by a newer Countersign: upgrade this node")
            }
            let pending = migrations.filter { !applied.contains($0.version) }
            if !pending.isEmpty {
                try await connection.run(PostgresQuery(unsafeSQL: block(pending, at: Date().timeIntervalSince1970)))
            }
        }
    }

    /// The pending migrations as one statement, a DO block that EXECUTEs each of theirs: one round trip instead of
    /// one per statement, so a node migrating a new database while its host is busy is not held up by dozens of
    /// waits for a thread. Each statement is dollar-quoted with a tag of its own (§4.1.2.4); none contains one.
    static func block(_ pending: [Migration], at time: Double) -> String {
        var body = ""
        for migration in pending {
            for (index, statement) in migration.statements.enumerated() {
                let tag = "$countersign_\(migration.version)_\(index)$"
                precondition(!statement.contains(tag))
                body += "EXECUTE \(tag)\(statement)\(tag);\n"
            }
            body += "INSERT INTO schema_migrations (version, applied_at) VALUES (\(migration.version), \(time));\n"
        }
        return "DO $countersign_migration$\nBEGIN\n\(body)END\n$countersign_migration$"
    }
}

/// Migrations run once per store, before its first statement, and again after a failure (the server may have been
/// down when the store opened): `open` stays synchronous, and a node that starts before its database recovers by itself.
final class SchemaGate: Sendable {
    private let migration = Locked<Task<Void, any Error>?>(nil)

    func ready(_ migrate: @escaping @Sendable () async throws -> Void) async throws {
        let task = migration.withLock { current in
            if let current { return current }
            let task = Task { try await migrate() }
            current = task
            return task
        }
        do {
            try await task.value
        } catch {
            migration.withLock { current in if current == task { current = nil } }
            throw error
        }
    }
}
