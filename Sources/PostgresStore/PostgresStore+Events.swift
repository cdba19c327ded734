import Foundation
import MFACore
import PostgresNIO

/// The audit trail.
extension PostgresStore {
    /// Written before it returns (in the writer's next batch, so in order with what `appendSoon` queued before).
    public func append(_ events: [AuditEvent]) async throws {
        try await eventWriter.append(events)
    }

    /// Queued for the writer's next batch: audit events stay off the reply path. `flush()` waits for what is queued;
    /// a failure goes to `onBackgroundWriteFailure`.
    public func appendSoon(_ events: [AuditEvent]) {
        eventWriter.enqueue(events) { self.backgroundWriteFailed("storing audit events", $0) }
    }

    /// Returns once every event queued so far was written (or failed, which `onBackgroundWriteFailure` heard).
    public func flush() async throws {
        await eventWriter.flush()
    }

    /// Events in id order: the last `limit` that match, or with `after`, those newer than that id (for --follow).
    public func events(user: String? = nil, type: String? = nil, after: Int64? = nil, limit: Int? = nil) async throws -> [StoredEvent] {
        try await flush()
        var conditions: [String] = []
        var bindings = PostgresBindings()
        func condition(_ sql: String, _ value: some PostgresDynamicTypeEncodable) {
            bindings.append(value)
            conditions.append(sql.replacingOccurrences(of: "?", with: "$\(bindings.count)"))
        }
        if let user { condition("username = ?", user) }
        if let type { condition("type = ?", type) }
        if let after { condition("id > ?", after) }
        let whereClause = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
        let sql: String
        if let limit {
            bindings.append(Int64(limit))
            sql = "SELECT * FROM (SELECT * FROM events \(whereClause) ORDER BY id DESC LIMIT $\(bindings.count)) AS last ORDER BY id"
        } else {
            sql = "SELECT * FROM events \(whereClause) ORDER BY id"
        }
        let query = PostgresQuery(unsafeSQL: sql, binds: bindings)
        return try await database.withConnection(Self.adminLimit) { connection in
            try await connection.rows(query).map(StoredEvent.init(row:))
        }
    }

    public func events(matching filter: EventFilter, _ side: EventPageSide, limit: Int) async throws -> [StoredEvent] {
        let (idCondition, id, order) = side.sql
        try await flush()
        var conditions: [String] = []
        var bindings = PostgresBindings()
        func bind(_ value: some PostgresDynamicTypeEncodable) -> String {
            bindings.append(value)
            return "$\(bindings.count)"
        }
        if let user = filter.user { conditions.append("username = \(bind(user))") }
        if let type = filter.type { conditions.append("type = \(bind(type))") }
        if let result = filter.result { conditions.append("result = \(bind(result.rawValue))") }
        if let resource = filter.resource {
            // The resource itself, or one under it (a prefix up to a colon), without LIKE's wildcards.
            let under = resource + ":"
            conditions.append(
                "(resource = \(bind(resource)) OR substr(resource, 1, \(bind(Int32(under.unicodeScalars.count)))) = \(bind(under)))")
        }
        if let since = filter.since { conditions.append("time >= \(bind(since.timeIntervalSince1970))") }
        if let until = filter.until { conditions.append("time < \(bind(until.timeIntervalSince1970))") }
        if let idCondition, let id { conditions.append(idCondition.replacingOccurrences(of: "?", with: bind(id))) }
        let whereClause = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
        let sql = "SELECT * FROM events \(whereClause) ORDER BY id \(order) LIMIT \(bind(Int64(limit)))"
        let query = PostgresQuery(unsafeSQL: sql, binds: bindings)
        return try await database.withConnection(Self.adminLimit) { connection in
            try await connection.rows(query).map(StoredEvent.init(row:))
        }
    }

    /// One INSERT of every event, in order (ids follow the order of the VALUES rows).
    static func insertEvents(_ events: [AuditEvent]) -> PostgresQuery {
        let columns = AuditEvent.columnCount
        var bindings = PostgresBindings(capacity: events.count * columns)
        var rows: [String] = []
        rows.reserveCapacity(events.count)
        for (index, event) in events.enumerated() {
            rows.append("(" + (1...columns).map { "$\(index * columns + $0)" }.joined(separator: ", ") + ")")
            event.appendColumns(to: &bindings)
        }
        return PostgresQuery(
            unsafeSQL: "INSERT INTO events (time, type, username, resource, client_address, result, error, details, node) VALUES "
                + rows.joined(separator: ", "),
            binds: bindings)
    }
}

extension PostgresBindings: AuditColumnSink {
    public mutating func appendColumn(_ value: Double) { append(value) }
    public mutating func appendColumn(_ value: String?) { append(value) }
}
