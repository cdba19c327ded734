import MFACore
import PostgresNIO

/// The pool of connections the store's statements run on: the schema migrated before the first one, every one
/// answered within its limit (Deadline), PostgreSQL's errors turned into StoreErrors.
final class PooledDatabase: Sendable {
    let client: PostgresClient
    private let schema = SchemaGate()

    init(client: PostgresClient) {
        self.client = client
    }

    /// `body` on a pooled connection, answered within `limit`.
    func withConnection<T: Sendable>(
        _ limit: Duration, _ body: @escaping @Sendable (PostgresConnection) async throws -> T
    ) async throws -> T {
        do {
            return try await Deadline.run(limit) { [client, schema] in
                // Closures, not the functions themselves: passing them crashes Swift 6.3's isolation checker.
                try await schema.ready { try await client.withConnection { connection in try await Schema.migrate(connection) } }
                return try await client.withConnection { connection in try await body(connection) }
            }
        } catch {
            throw StoreErrors.map(error)
        }
    }

    /// `body` in a transaction on a pooled connection, answered within `limit`.
    func transaction<T: Sendable>(
        _ limit: Duration, _ body: @escaping @Sendable (PostgresConnection) async throws -> T
    ) async throws -> T {
        try await withConnection(limit) { connection in try await connection.transaction(body) }
    }

    /// For work with no deadline (an import streams for as long as its file takes): the schema is made ready within
    /// `limit` first, so a dead server still fails fast.
    func withUnboundedConnection<T>(readyWithin limit: Duration, _ body: (PostgresConnection) async throws -> T) async throws -> T {
        do {
            try await withConnection(limit) { _ in }
            return try await client.withConnection { connection in try await body(connection) }
        } catch {
            throw StoreErrors.map(error)
        }
    }
}
