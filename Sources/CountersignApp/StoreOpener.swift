import CountersignConfig
import DeviceProtocol
import Foundation
import MFACore
import PostgresStore
import SQLiteStore

/// Opens the store `[store]` names; the one place above the stores that knows the backends.
public enum StoreOpener {
    public static func open(
        _ settings: StoreSettings, environment: [String: String] = ProcessInfo.processInfo.environment, timing: StoreTiming? = nil,
        endOfTurn: EndOfTurn? = nil, longRunning: Bool = false
    ) throws -> any GatewayStore {
        switch settings.backend {
        case .sqlite:
            return try SQLiteStore.open(
                path: settings.path, keyPath: settings.keyPath, environment: environment, timing: timing,
                credentialsCache: settings.credentialsCache, endOfTurn: endOfTurn, checkpointsInBackground: longRunning)
        case .postgresql:
            guard let server = settings.postgresql else { throw StoreError(.io, "store.url is not set") }
            return try PostgresStore.open(
                try endpoint(server, environment: environment), keyPath: settings.keyPath, environment: environment,
                timing: timing, credentialsCache: settings.credentialsCache)
        }
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
        try requireSQLite(settings)
        return try SQLiteStore.backup(databaseAt: settings.path, to: file)
    }

    /// `countersign store restore`: a backup put in place as a store that does not exist yet.
    public static func restore(_ settings: StoreSettings, from file: String) throws -> StoreCopySummary {
        try requireSQLite(settings)
        return try SQLiteStore.restore(from: file, toDatabaseAt: settings.path)
    }

    private static func requireSQLite(_ settings: StoreSettings) throws {
        guard settings.backend == .sqlite else {
            throw StoreError(.io, "store backup and restore are for backend = \"sqlite\"; back PostgreSQL up with pg_dump")
        }
    }

    /// The server of `store.url`, with the password from `COUNTERSIGN_DATABASE_PASSWORD` or `store.password_file`.
    static func endpoint(_ server: PostgreSQLSettings, environment: [String: String]) throws -> PostgresEndpoint {
        let tls: PostgresEndpoint.TLSMode =
            switch server.tls {
            case .disable: .disable
            case .prefer: .prefer
            case .require: .require
            }
        return PostgresEndpoint(
            host: server.host, port: server.port, username: server.username,
            password: try password(server, environment: environment), database: server.database, tls: tls,
            caPath: server.caPath)
    }

    /// The variable wins over the file; neither means no password (trust or peer authentication). One trailing line
    /// break is not part of it (`echo secret > file`). Errors name the file, never what is in it.
    static func password(_ server: PostgreSQLSettings, environment: [String: String]) throws -> String? {
        if let password = environment[PostgreSQLSettings.passwordVariable] { return password }
        guard let file = server.passwordFile else { return nil }
        guard let data = FileManager.default.contents(atPath: file), var password = String(data: data, encoding: .utf8) else {
            throw StoreError(.io, "cannot read store.password_file \(file)")
        }
        if password.hasSuffix("\n") { password.removeLast() }
        if password.hasSuffix("\r") { password.removeLast() }
        return password
    }
}
