import GRDB
import GRDBSQLite
import MFACore

/// The rows of a statement, each made by `make` from its columns read by position straight from SQLite. For the
/// login path's reads: GRDB's `Row` copies each row and lower-cases its column names to index them, which costs
/// more than the lookup itself.
final class ColumnsCursor<Element>: DatabaseCursor {
    let _statement: Statement
    var _isDone = false
    private let make: (Columns) -> Element

    /// Resets `statement` and binds its parameters with `bind`. Finish with `close()`, so that the statement does not
    /// hold its read transaction until its next use.
    init(_ statement: Statement, binding bind: (inout Parameters) -> Void, make: @escaping (Columns) -> Element) throws {
        _statement = statement
        self.make = make
        try statement.rebind(bind)
    }

    func _element(sqliteStatement: SQLiteStatement) throws -> Element {
        make(Columns(statement: sqliteStatement))
    }

    func close() {
        sqlite3_reset(_statement.sqliteStatement)
    }

    /// The first row, or nil; the statement is reset after.
    static func first(
        _ statement: Statement, binding bind: (inout Parameters) -> Void, make: @escaping (Columns) -> Element
    ) throws -> Element? {
        let cursor = try ColumnsCursor(statement, binding: bind, make: make)
        defer { cursor.close() }
        return try cursor.next()
    }

    /// Every row; the statement is reset after.
    static func all(
        _ statement: Statement, binding bind: (inout Parameters) -> Void, make: @escaping (Columns) -> Element
    ) throws -> [Element] {
        let cursor = try ColumnsCursor(statement, binding: bind, make: make)
        defer { cursor.close() }
        return try Array(cursor)
    }
}

extension Statement {
    /// Runs the statement to its end with its parameters bound by `bind` (the login path's writes).
    func execute(binding bind: (inout Parameters) -> Void) throws {
        let cursor = try ColumnsCursor<Void>(self, binding: bind) { _ in }
        defer { cursor.close() }
        try cursor.forEach { _ in }
    }

    /// Resets the statement and binds every parameter, in order, straight to SQLite. For the login path: GRDB's
    /// `StatementArguments` boxes each value as an existential and checks the count on every call, which cost as much
    /// as the audit event's insert itself (BENCHMARKS.md, eighth round).
    fileprivate func rebind(_ bind: (inout Parameters) -> Void) throws {
        let code = sqlite3_reset(sqliteStatement)
        guard code == SQLITE_OK else {
            let message = String(cString: sqlite3_errmsg(sqlite3_db_handle(sqliteStatement)))
            throw DatabaseError(resultCode: ResultCode(rawValue: code), message: message, sql: sql)
        }
        var parameters = Parameters(statement: sqliteStatement)
        bind(&parameters)
        let expected = Int(sqlite3_bind_parameter_count(sqliteStatement))
        guard parameters.failure == nil, parameters.count == expected else {
            throw DatabaseError(
                resultCode: ResultCode(rawValue: parameters.failure ?? SQLITE_MISUSE),
                message: "bound \(parameters.count) of \(expected) parameters", sql: sql)
        }
    }
}

/// A statement's parameters, bound one after the other (?1 first).
struct Parameters {
    fileprivate let statement: SQLiteStatement
    fileprivate private(set) var count = 0
    fileprivate private(set) var failure: CInt?

    mutating func bind(_ value: some StatementBinding) {
        count += 1
        record(value.bind(to: statement, at: CInt(count)))
    }

    /// Text bound from the string's own UTF-8, which SQLite copies (`SQLITE_TRANSIENT`): GRDB's binding goes through
    /// `utf8CString`, a heap copy of every string (twelve a login, BENCHMARKS.md, ninth round).
    mutating func bind(_ value: String) {
        count += 1
        var value = value
        let index = CInt(count)
        record(
            value.withUTF8 { utf8 in
                // A NULL pointer would bind SQL NULL, not the empty text.
                let text = utf8.baseAddress.map { UnsafeRawPointer($0) } ?? Self.emptyText
                return sqlite3_bind_text(
                    statement, index, text.assumingMemoryBound(to: CChar.self), CInt(utf8.count), Self.transient)
            })
    }

    mutating func bind(_ value: String?) {
        guard let value else {
            count += 1
            return record(sqlite3_bind_null(statement, CInt(count)))
        }
        bind(value)
    }

    private mutating func record(_ code: CInt) {
        if code != SQLITE_OK, failure == nil { failure = code }
    }

    private static var transient: sqlite3_destructor_type {
        unsafeBitCast(OpaquePointer(bitPattern: -1), to: sqlite3_destructor_type.self)
    }
    private static var emptyText: UnsafeRawPointer { UnsafeRawPointer(("" as StaticString).utf8Start) }
}

extension Parameters: AuditColumnSink {
    mutating func appendColumn(_ value: Double) { bind(value) }
    mutating func appendColumn(_ value: String?) { bind(value) }
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
