import Dispatch
import GRDB
import GRDBSQLite
import MFACore

/// Checkpoints the WAL from a connection and a thread of its own. SQLite's automatic checkpoint runs inside the
/// commit that takes the WAL past its threshold: that commit, and every login queued behind it, waits while the
/// checkpoint copies pages into the database and syncs both files (milliseconds: most of the login path's p99).
/// Here the writer's WAL hook only hands the work over, and the checkpoint runs beside the next commits (a passive
/// checkpoint never blocks a writer, and copies only what no reader still needs).
final class BackgroundCheckpoint: Sendable {
    /// WAL pages after which a checkpoint starts (16 MiB): four times SQLite's default for its automatic one. A
    /// login rewrites pages that earlier logins wrote (the events table's last leaf, the used steps' leaves), and a
    /// checkpoint copies and syncs each page once however often the WAL holds it: at concurrency 1, 10–20 % less CPU
    /// per login than at 1,000 pages (BENCHMARKS.md, eighth round).
    static let threshold: Int32 = 4000
    /// WAL pages after which the writer checkpoints itself, as SQLite's automatic checkpoint would: the background
    /// one has fallen behind (or cannot run), and the WAL must not grow without bound (64 MiB).
    static let writerTakesOver: Int32 = 4 * threshold

    private let path: String
    private let configuration: Configuration
    /// Opened at the first checkpoint, once the database is in WAL mode (a connection opened before sees no WAL).
    private let opened = Locked<DatabaseQueue?>(nil)
    private let queue = DispatchQueue(label: "countersign.sqlite.checkpoint")
    private let running = Locked(false)
    /// Checkpoints that ran so far (for tests).
    let completed = Locked(0)

    init(path: String, configuration: Configuration) {
        var configuration = configuration
        configuration.label = "countersign.checkpoint"
        self.path = path
        self.configuration = configuration
    }

    private func connection() -> DatabaseQueue? {
        opened.withLock { opened in
            if opened == nil { opened = try? DatabaseQueue(path: path, configuration: configuration) }
            return opened
        }
    }

    /// Takes over the checkpoints of `db`, the writer's connection (a WAL hook replaces SQLite's automatic
    /// checkpoint there). The hook holds this object unretained: the caller keeps it as long as the connection.
    func install(on db: Database) {
        sqlite3_wal_hook(
            db.sqliteConnection,
            { context, connection, _, pages in
                if pages >= BackgroundCheckpoint.writerTakesOver {
                    sqlite3_wal_checkpoint_v2(connection, nil, SQLITE_CHECKPOINT_PASSIVE, nil, nil)
                } else if let context {
                    Unmanaged<BackgroundCheckpoint>.fromOpaque(context).takeUnretainedValue().committed(walPages: pages)
                }
                return SQLITE_OK
            }, Unmanaged.passUnretained(self).toOpaque())
    }

    /// After each commit of the writer, with the WAL's length in pages.
    private func committed(walPages: Int32) {
        guard walPages >= Self.threshold, running.withLock({ running in
            defer { running = true }
            return !running
        }) else { return }
        queue.async {
            // A passive checkpoint that finds the database busy (another process's checkpoint) leaves the work to
            // the next one.
            if (try? self.connection()?.inDatabase({ db in try db.checkpoint(.passive) })) != nil {
                self.completed.withLock { $0 += 1 }
            }
            self.running.withLock { $0 = false }
        }
    }
}
