import CountersignApp
import CountersignConfig
import Foundation
import MFACore
import Testing

/// `[store]` to a store: the backend it names, the database password from the environment or its file.
@Suite struct StoreOpenerTests {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("countersign-opener-\(UUID())").path

    func postgresql(passwordFile: String? = nil) -> StoreSettings {
        StoreSettings(
            postgresql: PostgreSQLSettings(host: "127.0.0.1", port: 1, username: "cs", database: "cs", passwordFile: passwordFile),
            keyPath: folder + "/countersign.key")
    }

    @Test func thePasswordFileMustBeReadableAndIsNeverQuoted() throws {
        let error = #expect(throws: StoreError(.io, "")) {
            try StoreOpener.open(postgresql(passwordFile: folder + "/missing"), environment: [:])
        }
        #expect(error?.message.contains("store.password_file") == true)
        #expect(error?.message.contains(folder + "/missing") == true)
    }

    @Test func thePasswordVariableWinsOverTheFile() throws {
        defer { try? FileManager.default.removeItem(atPath: folder) }
        // The file is not read at all when the variable is set: a missing one is no error then.
        let store = try StoreOpener.open(
            postgresql(passwordFile: folder + "/missing"), environment: [PostgreSQLSettings.passwordVariable: "secret"])
        #expect(String(describing: type(of: store)) == "PostgresStore")
    }

    @Test func backupAndRestoreAreForSQLite() {
        let error = #expect(throws: StoreError(.io, "")) { try StoreOpener.backup(postgresql(), to: folder + "/backup.db") }
        #expect(error?.message.contains("pg_dump") == true)
        #expect(throws: StoreError(.io, "")) { try StoreOpener.restore(postgresql(), from: folder + "/backup.db") }
    }
}
