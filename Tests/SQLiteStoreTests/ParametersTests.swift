import Foundation
import GRDB
import Testing

@testable import SQLiteStore

/// The login path binds its parameters itself (`Parameters`): text from the string's own UTF-8, NULL for nil.
@Suite struct ParametersTests {
    @Test func textIsStoredAsGivenAndNilAsNull() throws {
        let texts: [String?] = [
            "", "a", "radius", "fifteen octets!", "sixteen octets!!", String(repeating: "long ", count: 40),
            "ünïcødé 🙂", "quote ' and \" and \0 inside", nil,
            // A string that is not native UTF-8 storage: bridged from Foundation.
            NSString(string: "bridged text, longer than fifteen").description,
        ]
        let database = try DatabaseQueue()
        try database.write { db in
            try db.execute(sql: "CREATE TABLE t (position INTEGER, value TEXT)")
            let insert = try db.makeStatement(sql: "INSERT INTO t VALUES (?1, ?2)")
            for (position, text) in texts.enumerated() {
                try insert.execute { $0.bind(position); $0.bind(text) }
            }
        }
        let stored = try database.read { db in
            try Row.fetchAll(db, sql: "SELECT CAST(value AS BLOB) AS octets, typeof(value) AS type FROM t ORDER BY position")
        }
        #expect(stored.count == texts.count)
        for (row, text) in zip(stored, texts) {
            if let text {
                #expect(row["type"] as String == "text")
                // Every octet, a NUL too (a length of -1 would end the text there).
                #expect(Array(row["octets"] as Data? ?? Data()) == Array(text.utf8))
            } else {
                #expect(row["type"] as String == "null")
            }
        }
    }

    @Test func aWrongCountIsAnError() throws {
        let database = try DatabaseQueue()
        try database.write { db in
            try db.execute(sql: "CREATE TABLE t (a TEXT, b TEXT)")
            let insert = try db.makeStatement(sql: "INSERT INTO t VALUES (?1, ?2)")
            #expect(throws: DatabaseError.self) { try insert.execute { $0.bind("only one") } }
            #expect(try Int.fetchOne(db, sql: "SELECT count(*) FROM t") == 0)
        }
    }
}
