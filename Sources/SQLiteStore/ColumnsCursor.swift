import GRDB
import GRDBSQLite

/// The rows of a statement, each made by `make` from its columns read by position straight from SQLite. For the
/// login path's reads: GRDB's `Row` copies each row and lower-cases its column names to index them, which costs
/// more than the lookup itself.
final class ColumnsCursor<Element>: DatabaseCursor {
    let _statement: Statement
    var _isDone = false
    private let make: (Columns) -> Element

    /// Sets `arguments` on `statement` (which resets it). Finish with `close()`, so that the statement does not hold
    /// its read transaction until its next use.
    init(_ statement: Statement, arguments: StatementArguments, make: @escaping (Columns) -> Element) throws {
        _statement = statement
        self.make = make
        try statement.setArguments(arguments)
    }

    func _element(sqliteStatement: SQLiteStatement) throws -> Element {
        make(Columns(statement: sqliteStatement))
    }

    func close() {
        sqlite3_reset(_statement.sqliteStatement)
    }

    /// The first row, or nil; the statement is reset after.
    static func first(
        _ statement: Statement, arguments: StatementArguments, make: @escaping (Columns) -> Element
    ) throws -> Element? {
        let cursor = try ColumnsCursor(statement, arguments: arguments, make: make)
        defer { cursor.close() }
        return try cursor.next()
    }

    /// Every row; the statement is reset after.
    static func all(
        _ statement: Statement, arguments: StatementArguments, make: @escaping (Columns) -> Element
    ) throws -> [Element] {
        let cursor = try ColumnsCursor(statement, arguments: arguments, make: make)
        defer { cursor.close() }
        return try Array(cursor)
    }
}

/// The columns of the row a statement is on, by position (0 first); nil for NULL.
struct Columns {
    let statement: SQLiteStatement

    func string(_ index: CInt) -> String? { String.fromStatement(statement, atUncheckedIndex: index) }
    func int(_ index: CInt) -> Int? { Int.fromStatement(statement, atUncheckedIndex: index) }
    func int64(_ index: CInt) -> Int64? { Int64.fromStatement(statement, atUncheckedIndex: index) }
    func double(_ index: CInt) -> Double? { Double.fromStatement(statement, atUncheckedIndex: index) }

    func bytes(_ index: CInt) -> [UInt8]? {
        guard sqlite3_column_type(statement, index) != SQLITE_NULL else { return nil }
        let count = Int(sqlite3_column_bytes(statement, index))
        guard count > 0, let start = sqlite3_column_blob(statement, index) else { return [] }
        return Array(UnsafeRawBufferPointer(start: start, count: count))
    }
}
