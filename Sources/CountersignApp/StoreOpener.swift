import CountersignConfig
import DeviceProtocol
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

    /// `countersign store copy`: the store of `source` into the empty store of `target`, which must have the same
    /// store key (the sealed secrets move as they are).
    public static func copy(
        from source: StoreSettings, to target: StoreSettings, environment: [String: String] = ProcessInfo.processInfo.environment
    ) async throws -> StoreCopySummary {
        let sourceKey = try SecretBox.loadKey(keyPath: source.keyPath, environment: environment)
        let targetKey = try SecretBox.loadKey(keyPath: target.keyPath, environment: environment)
        guard ConstantTime.equals(sourceKey.withUnsafeBytes { Array($0) }, targetKey.withUnsafeBytes { Array($0) }) else {
            throw StoreError(
                .badKeyFile,
                "the two stores have different keys (\(source.keyPath), \(target.keyPath)): give the target the source's key file first")
        }
        return try await StoreCopy.copy(from: open(source, environment: environment), to: open(target, environment: environment))
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
