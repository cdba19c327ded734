import MFACore
import PostgresNIO

/// PostgreSQL's failures as the store reports them: a StoreError whose message names what went wrong and never
/// carries a query's values (postgres-nio's debug description would: passwords, secrets, codes).
enum StoreErrors {
    static func unreadableCA(_ path: String) -> StoreError {
        StoreError(.io, "cannot read the CA certificates of store.ca, \(path)")
    }

    static func timedOut(after limit: Duration) -> StoreError {
        StoreError(.io, "database unreachable: no answer within \(limit.formatted)")
    }

    /// `error` as a StoreError: store errors as they are, PostgreSQL's by kind, SQLSTATE and server message.
    static func map(_ error: any Error) -> any Error {
        switch error {
        case let error as StoreError:
            return error
        case is CancellationError:
            return error
        case let error as PSQLError:
            return describe(error)
        case let error as PostgresDecodingError:
            return StoreError(.io, "unexpected data from the database in column \(error.columnName)")
        default:
            // The pool's own errors (circuit breaker, shut down) and NIO's connect errors carry no data.
            return StoreError(.io, "database unreachable: \(error)")
        }
    }

    private static func describe(_ error: PSQLError) -> StoreError {
        if error.code == .server, let info = error.serverInfo {
            // The primary message (§55.8, "Error Message Fields") names the problem, not the values; the detail
            // field, which may quote them, is left out.
            let state = info[.sqlState] ?? "?"
            let message = info[.message] ?? "no message"
            let unreachable = state.hasPrefix("08") || state.hasPrefix("57") || state.hasPrefix("53") || state.hasPrefix("28")
            return StoreError(.io, "database \(unreachable ? "unreachable" : "error"): \(message) (SQLSTATE \(state))")
        }
        var text = "\(error.code)"
        if let underlying = error.underlying { text += ": \(underlying)" }
        return StoreError(.io, "database unreachable: \(text)")
    }
}

extension Duration {
    /// "2 s", "500 ms".
    var formatted: String {
        let milliseconds = components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000
        return milliseconds % 1000 == 0 ? "\(milliseconds / 1000) s" : "\(milliseconds) ms"
    }
}
