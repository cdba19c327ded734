import Logging
import PostgresNIO

/// The few ways the store runs statements on a connection. Every statement is a `PostgresQuery` whose values are
/// bind parameters (postgres-nio's string interpolation), never text spliced into SQL.
extension PostgresConnection {
    /// postgres-nio logs queries with their values at debug level: the store's logger stays silent.
    static let quiet = Logger(label: "countersign.postgres", factory: { _ in SwiftLogNoOpLogHandler() })

    /// Every row of `query`, each readable by column name.
    func rows(_ query: PostgresQuery) async throws -> [PostgresRandomAccessRow] {
        try await self.query(query, logger: Self.quiet).collect().map { $0.makeRandomAccess() }
    }

    /// The first row of `query`, or nil.
    func row(_ query: PostgresQuery) async throws -> PostgresRandomAccessRow? {
        try await rows(query).first
    }

    /// Runs `query` and drops its rows.
    func run(_ query: PostgresQuery) async throws {
        _ = try await self.query(query, logger: Self.quiet).collect()
    }

    /// `body` between BEGIN and COMMIT, rolled back when it throws, which rethrows its own error (postgres-nio's
    /// `withTransaction` wraps it, and the store's errors must reach the caller as they are).
    func transaction<T>(_ body: (PostgresConnection) async throws -> T) async throws -> T {
        try await run("BEGIN")
        do {
            let value = try await body(self)
            try await run("COMMIT")
            return value
        } catch {
            try? await run("ROLLBACK")
            throw error
        }
    }
}

extension PostgresRandomAccessRow {
    /// The value of `column`, decoded (optional types read NULL as nil).
    func get<T: PostgresDecodable>(_ column: String, as type: T.Type = T.self) throws -> T {
        try self[column].decode(T.self)
    }

    /// A bytea column as bytes.
    func bytes(_ column: String) throws -> [UInt8]? {
        try get(column, as: ByteBuffer?.self).map { Array($0.readableBytesView) }
    }
}
