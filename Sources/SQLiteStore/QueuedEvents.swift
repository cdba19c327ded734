import GRDB
import MFACore

/// Audit events waiting for the group commit. Each `appendSoon` still queues a job (the group commit counts them,
/// keeps their order and flushes them), but the first of those jobs to run inserts every event queued so far, and
/// the jobs after it find nothing left: a batch's events go in with a few multi-row INSERTs, which pay the
/// statement's own work (and AUTOINCREMENT's counter) once, not once per event (BENCHMARKS.md, eighth round).
final class QueuedEvents: Sendable {
    private let events = Locked<[AuditEvent]>([])

    func add(_ new: [AuditEvent]) {
        events.withLock { $0 += new }
    }

    /// Inserts every event queued so far; nothing when an earlier job took them.
    func insertQueued(_ db: Database) throws {
        let taken = events.withLock { events in
            defer { events = [] }
            return events
        }
        try EventRows.insert(taken, db)
    }
}

/// INSERTs of audit events, several rows to a statement.
enum EventRows {
    /// Rows per statement, each a power of two up to this: a few cached statements serve every count.
    static let largestInsert = 64
    private static let insertSQL: [String] = (0...largestInsert.trailingZeroBitCount).map { power in
        let placeholders = "(" + Array(repeating: "?", count: AuditEvent.columnCount).joined(separator: ", ") + ")"
        return "INSERT INTO events (time, type, user, resource, client_address, result, error, details, node) VALUES "
            + Array(repeating: placeholders, count: 1 << power).joined(separator: ", ")
    }

    /// All or nothing: more than one statement runs in a savepoint of its own.
    static func insert(_ events: [AuditEvent], _ db: Database) throws {
        guard events.count > largestInsert || events.count.nonzeroBitCount > 1 else {
            return try insertStatement(events[...], db)
        }
        try db.inSavepoint {
            var rest = events[...]
            while !rest.isEmpty {
                let rows = min(largestInsert, 1 << (Int.bitWidth - 1 - rest.count.leadingZeroBitCount))
                try insertStatement(rest.prefix(rows), db)
                rest = rest.dropFirst(rows)
            }
            return .commit
        }
    }

    /// One statement for 2^n events (none: nothing).
    private static func insertStatement(_ events: ArraySlice<AuditEvent>, _ db: Database) throws {
        guard !events.isEmpty else { return }
        try db.cachedStatement(sql: insertSQL[events.count.trailingZeroBitCount]).execute { parameters in
            for event in events { event.appendColumns(to: &parameters) }
        }
    }
}
