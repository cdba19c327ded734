import Crypto
import Foundation
import Logging
import MFACore
import PostgresNIO
import PostgresStore
import SQLiteStore
import Testing

/// The backends every contract test runs against.
enum Backend: String, Sendable, CaseIterable, CustomTestStringConvertible {
    case sqlite
    case postgresql

    var testDescription: String { rawValue }
}

/// One database of its own for one test, and the stores opened on it: each `store()` is another instance on the same
/// database, as two nodes (or a node and the CLI) would have. SQLite: a file in a new folder. PostgreSQL: a new
/// database on the server Scripts/postgres started, dropped at the end.
final class TestDatabase: Sendable {
    let backend: Backend
    /// The store key every instance shares.
    let key = SymmetricKey(size: .bits256)
    private let folder: String?
    private let postgres: (server: TestPostgres, name: String)?
    private let opened = Locked<[PostgresStore]>([])

    private init(backend: Backend, folder: String?, postgres: (TestPostgres, String)?) {
        self.backend = backend
        self.folder = folder
        self.postgres = postgres
    }

    /// Runs `body` with a new database of `backend`, then drops it (also when `body` throws). The database is migrated
    /// first, as a gateway's start migrates it (its first statement, the signing key, has the admin commands' time
    /// limit, not a login's); `empty` leaves that to the test.
    static func with(_ backend: Backend, empty: Bool = false, _ body: (TestDatabase) async throws -> Void) async throws {
        let database: TestDatabase
        switch backend {
        case .sqlite:
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("countersign-contract-\(UUID())").path
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            database = TestDatabase(backend: backend, folder: folder, postgres: nil)
        case .postgresql:
            let server = try TestPostgres.fromEnvironment()
            let name = "countersign_test_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
            try await server.admin("CREATE DATABASE \(name)")
            database = TestDatabase(backend: backend, folder: nil, postgres: (server, name))
        }
        do {
            if !empty { _ = try await database.store().users() }
            try await body(database)
        } catch {
            await database.drop()
            throw error
        }
        await database.drop()
    }

    /// Another store instance on this database.
    func store() throws -> any GatewayStore {
        switch backend {
        case .sqlite:
            let path = folder! + "/countersign.db"
            let environment = [SecretBox.keyVariable: key.withUnsafeBytes { Data($0) }.base64EncodedString()]
            return try SQLiteStore.open(path: path, keyPath: path + ".key", environment: environment)
        case .postgresql:
            return try cluster()
        }
    }

    /// Another PostgreSQL store instance on this database, with what only PostgreSQL shares (challenges, pushes).
    func cluster() throws -> PostgresStore {
        let (server, name) = postgres!
        let store = try PostgresStore(endpoint: server.endpoint.database(name), key: key)
        opened.withLock { $0.append(store) }
        return store
    }

    /// Ends the server sessions of this database's connections that go by `applicationName`.
    func terminateConnections(applicationName: String) async throws {
        let (server, name) = postgres!
        try await server.admin(
            """
            SELECT pg_terminate_backend(pid) FROM pg_stat_activity
            WHERE datname = '\(name)' AND application_name = '\(applicationName)'
            """)
    }

    private func drop() async {
        for store in opened.withLock({ $0 }) { await store.close() }
        if let folder { try? FileManager.default.removeItem(atPath: folder) }
        if let (server, name) = postgres {
            do {
                try await server.admin("DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
            } catch {
                Issue.record("could not drop the test database \(name): \(String(reflecting: error))")
            }
        }
    }
}

/// The server Scripts/postgres started, from COUNTERSIGN_TEST_POSTGRES_URL and COUNTERSIGN_TEST_POSTGRES_PASSWORD.
struct TestPostgres: Sendable {
    let endpoint: PostgresEndpoint

    struct NotStarted: Error, CustomStringConvertible {
        var description: String {
            "COUNTERSIGN_TEST_POSTGRES_URL is not set: run Scripts/test, which starts PostgreSQL for these tests "
                + "(or eval \"$(Scripts/postgres start)\" before swift test)"
        }
    }

    static func fromEnvironment() throws -> TestPostgres {
        let environment = ProcessInfo.processInfo.environment
        guard let text = environment["COUNTERSIGN_TEST_POSTGRES_URL"], let url = URL(string: text), let host = url.host,
            let user = url.user
        else { throw NotStarted() }
        return TestPostgres(
            endpoint: PostgresEndpoint(
                host: host, port: url.port ?? 5432, username: user, password: environment["COUNTERSIGN_TEST_POSTGRES_PASSWORD"],
                database: String(url.path.dropFirst()), tls: .disable))
    }

    /// A statement on the server's own database (CREATE and DROP DATABASE run outside a transaction).
    func admin(_ sql: String) async throws {
        var configuration = PostgresConnection.Configuration(
            host: endpoint.host, port: endpoint.port, username: endpoint.username, password: endpoint.password,
            database: endpoint.database, tls: .disable)
        configuration.options.connectTimeout = .seconds(10)
        let connection = try await PostgresConnection.connect(
            configuration: configuration, id: 0, logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
        do {
            _ = try await connection.query(PostgresQuery(unsafeSQL: sql), logger: Logger(label: "test")).collect()
        } catch {
            try? await connection.close()
            throw error
        }
        try await connection.close()
    }
}
