import GRDB
import MFACore

/// Read-only connections for the login path's reads, run on the calling thread.
///
/// Each connection serves one thread at a time; one is opened when every open one is in use, so there are never
/// more than threads reading at once, and no read waits for a connection. WAL lets them read while the writer
/// commits. SQLite drops a connection's page cache whenever another connection has committed, so every read
/// fetches its pages again from the operating system's cache, or from disk.
final class ReadConnections: Sendable {
    private let path: String?
    private let configuration: Configuration
    private let fallback: any DatabaseReader
    private let idle = Locked<[DatabaseQueue]>([])

    /// `path` nil (an in-memory store): reads go to `fallback`, the store's own connection.
    init(path: String?, configuration: Configuration, fallback: any DatabaseReader) {
        var configuration = configuration
        configuration.readonly = true
        configuration.label = "countersign.login-read"
        self.path = path
        self.configuration = configuration
        self.fallback = fallback
    }

    /// `body` runs one statement: SQLite reads it from one snapshot, so no transaction is opened around it (GRDB's
    /// `read` adds BEGIN, COMMIT and two pragmas, more than the lookup itself).
    func readStatement<T>(_ body: (Database) throws -> T) throws -> T {
        guard let path else { return try fallback.read(body) }
        let connection = try idle.withLock { $0.popLast() } ?? DatabaseQueue(path: path, configuration: configuration)
        defer { idle.withLock { $0.append(connection) } }
        return try connection.inDatabase(body)
    }
}
