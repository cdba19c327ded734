import MFACore
import PostgresNIO

/// The pool of connections the store's statements run on: the schema migrated before the first one, every one
/// answered within its limit (Deadline), PostgreSQL's errors turned into StoreErrors.
final class PooledDatabase: Sendable {
    let client: PostgresClient
    private let endpoint: PostgresEndpoint
    private let schema = SchemaGate()

    init(client: PostgresClient, endpoint: PostgresEndpoint) {
        self.client = client
        self.endpoint = endpoint
    }

    /// Migrates on a connection of its own, not the pool's: the pool retries a failed connection attempt until the
    /// caller gives up, so a wrong password or database name would read "no answer"; connected directly, the first
    /// statement of a store reports what the server said.
    private static func migrate(_ endpoint: PostgresEndpoint) async throws {
        try await Deadline.run(PostgresStore.adminLimit) {
            let connection = try await PostgresConnection.connect(
                configuration: try endpoint.connectionConfiguration(applicationName: PostgresEndpoint.applicationName), id: 0,
                logger: PostgresConnection.quiet)
            do {
                try await Schema.migrate(connection)
            } catch {
                try? await connection.close()
                throw error
            }
            try await connection.close()
        }
    }

    /// `body` on a pooled connection, answered within `limit`.
    func withConnection<T: Sendable>(
        _ limit: Duration, _ body: @escaping @Sendable (PostgresConnection) async throws -> T
    ) async throws -> T {
        do {
            return try await Deadline.run(limit) { [client, schema, endpoint] in
                try await schema.ready { try await Self.migrate(endpoint) }
                // A closure, not `body` itself: passing it crashes Swift 6.3's isolation checker.
                return try await client.withConnection { connection in try await body(connection) }
            }
        } catch {
            throw StoreErrors.map(error)
        }
    }

    /// `SELECT 1` on a pooled connection within `limit`, the schema or not: whether the server answers.
    func ping(within limit: Duration) async throws {
        do {
            try await Deadline.run(limit) { [client] in
                try await client.withConnection { connection in try await connection.run("SELECT 1") }
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
