import GRDB
import MFACore

/// The SQLite side of the credentials cache (`CredentialsCache`): which users' credentials were changed since the last
/// look by any connection, the admin CLI's in another process as much as this process's writer, read from the
/// `credential_changes` table that triggers fill (migration v10).
///
/// A look is one `PRAGMA data_version` on a connection of its own, which reads the WAL index in shared memory (no
/// disk): it changes only when another connection has committed. Then, and only then, one read of the entries after
/// the last one seen. Under load that is one read per group commit, shared by the logins of that moment.
final class CredentialChangeLog: Sendable {
    private struct State {
        var dataVersion: Int64?
        /// The id of the newest entry taken into account.
        var seen: Int64
    }

    /// Its own read-only connection; nil in memory, where the store's one connection serves (and is the only writer,
    /// so the version never moves: every look reads the table).
    private let connection: DatabaseQueue?
    private let fallback: any DatabaseReader
    private let state: Locked<State>
    /// More entries than this since the last look: dropping everything costs less than reading them.
    static let mostEntriesRead = 256

    init(path: String?, configuration: Configuration, fallback: any DatabaseReader) throws {
        var configuration = configuration
        configuration.readonly = true
        configuration.label = "countersign.credential-changes"
        connection = try path.map { try DatabaseQueue(path: $0, configuration: configuration) }
        self.fallback = fallback
        let newest = try fallback.read { db in try Int64.fetchOne(db, sql: "SELECT max(id) FROM credential_changes") } ?? 0
        state = Locked(State(dataVersion: nil, seen: newest))
    }

    /// Called under the cache's lock: one look at a time.
    func look() -> CredentialChanges {
        do {
            return try state.withLock { state in
                if let connection {
                    return try connection.inDatabase { db in try Self.look(db, &state, versioned: true) }
                }
                return try fallback.read { db in try Self.look(db, &state, versioned: false) }
            }
        } catch {
            // Unreadable: whatever is cached may be stale.
            return .all
        }
    }

    private static func look(_ db: Database, _ state: inout State, versioned: Bool) throws -> CredentialChanges {
        if versioned {
            let version = try Int64.fetchOne(db.cachedStatement(sql: "PRAGMA data_version"))
            if version == state.dataVersion { return .none }
            state.dataVersion = version
        }
        let rows = try ColumnsCursor.all(
            db.cachedStatement(sql: "SELECT id, user FROM credential_changes WHERE id > ? ORDER BY id LIMIT ?"),
            binding: { [seen = state.seen] in $0.bind(seen); $0.bind(mostEntriesRead + 1) }
        ) { columns in (id: columns.int64(0) ?? 0, user: columns.string(1) ?? "") }
        guard let first = rows.first, let last = rows.last else { return .none }
        let (firstID, lastID) = (first.id, last.id)
        // Too many to read, or entries pruned before a look saw them: anything may have changed.
        if rows.count > mostEntriesRead {
            state.seen = try Int64.fetchOne(db, sql: "SELECT max(id) FROM credential_changes") ?? lastID
            return .all
        }
        defer { state.seen = lastID }
        return firstID == state.seen + 1 ? .numbered(rows.map { NumberedCredentialChange(user: $0.user, number: $0.id) }) : .all
    }
}
