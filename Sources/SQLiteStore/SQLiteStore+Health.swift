import Foundation
import MFACore
import GRDB

extension SQLiteStore {
    /// Nil when the store answers, else what is wrong: `/readyz` asks. The database file must still be the one
    /// opened, readable and writable, and a write lock must be had and a page read within a second. A deleted or
    /// replaced file goes unnoticed by open connections, which would go on writing into the lost one.
    public func healthProblem() async -> String? {
        // In memory (tests): nothing to lose, nobody else to hold a lock.
        guard let health else { return nil }
        if let problem = health.fileProblem() { return problem }
        do {
            try await onLoginReadQueue { try health.connection.writeWithoutTransaction(HealthCheck.probe) }
            return nil
        } catch {
            return "\(error)"
        }
    }
}

/// The file `serve` opened, and a connection that fails fast when the database is locked.
final class HealthCheck: Sendable {
    let path: String
    private let device: UInt64
    private let inode: UInt64
    let connection: DatabaseQueue

    init(path: String) throws {
        var status = stat()
        guard stat(path, &status) == 0 else { throw StoreError(.io, "cannot stat \(path): \(String(cString: strerror(errno)))") }
        self.path = path
        device = UInt64(status.st_dev)
        inode = UInt64(status.st_ino)
        var configuration = Configuration()
        // Logins' commits hold the lock for milliseconds; a second means something else holds it.
        configuration.busyMode = .timeout(1)
        configuration.label = "countersign.health"
        connection = try DatabaseQueue(path: path, configuration: configuration)
    }

    func fileProblem() -> String? {
        var status = stat()
        guard stat(path, &status) == 0 else { return "database file \(path) is gone" }
        guard UInt64(status.st_dev) == device, UInt64(status.st_ino) == inode else {
            return "database file \(path) was replaced"
        }
        guard access(path, R_OK | W_OK) == 0 else { return "database file \(path) is not readable and writable" }
        return nil
    }

    /// A write lock and a read, rolled back: what a login's writes need.
    static func probe(_ db: Database) throws {
        try db.execute(sql: "BEGIN IMMEDIATE")
        defer { try? db.execute(sql: "ROLLBACK") }
        _ = try Int.fetchOne(db, sql: "SELECT count(*) FROM settings")
    }
}
