import CountersignConfig
import Foundation
import MFACore
import SQLiteStore

/// Opens the store `[store]` names; the one place above the stores that knows the backends.
public enum StoreOpener {
    public static func open(
        _ settings: StoreSettings, environment: [String: String] = ProcessInfo.processInfo.environment, timing: StoreTiming? = nil
    ) throws -> any GatewayStore {
        try SQLiteStore.open(path: settings.path, keyPath: settings.keyPath, environment: environment, timing: timing)
    }

    /// `countersign store backup`: a consistent copy of the SQLite file while `serve` runs.
    public static func backup(_ settings: StoreSettings, to file: String) throws -> StoreCopySummary {
        try SQLiteStore.backup(databaseAt: settings.path, to: file)
    }

    /// `countersign store restore`: a backup put in place as a store that does not exist yet.
    public static func restore(_ settings: StoreSettings, from file: String) throws -> StoreCopySummary {
        try SQLiteStore.restore(from: file, toDatabaseAt: settings.path)
    }
}
