/// Where the store lives: `[store]`. One node embeds SQLite; several share PostgreSQL.
public struct StoreSettings: Sendable, Equatable {
    public enum Backend: String, Sendable, CaseIterable {
        case sqlite
        case postgresql
    }

    /// `store.backend`, default `sqlite`.
    public var backend: Backend
    /// `store.path`, default `countersign.db`; absolute after loading. For `sqlite` only.
    public var path: String
    /// `store.key_path`, default `path + ".key"` (`countersign.key` with `postgresql`); absolute after loading.
    /// The file holds the key that encrypts TOTP secrets at rest; kept apart so a copied database alone reveals nothing.
    /// Every node on one PostgreSQL store needs the same key.
    public var keyPath: String
    /// The server, for `backend = "postgresql"`; nil for `sqlite`.
    public var postgresql: PostgreSQLSettings?
    /// `store.credentials_cache`, default 100,000, 0...10,000,000: how many users' credentials logins keep in memory
    /// (a few hundred bytes each, the TOTP secret still sealed); 0 reads the store on every login.
    public var credentialsCache = StoreSettings.defaultCredentialsCache

    public static let defaultCredentialsCache = 100_000
    public static let credentialsCacheRange = 0...10_000_000

    public static let defaultPath = "countersign.db"
    public static let defaultSharedKeyPath = "countersign.key"

    /// SQLite at `path`.
    public init(path: String = StoreSettings.defaultPath, keyPath: String? = nil) {
        backend = .sqlite
        self.path = path
        self.keyPath = keyPath ?? path + ".key"
    }

    /// The PostgreSQL server `postgresql` names.
    public init(postgresql: PostgreSQLSettings, keyPath: String = StoreSettings.defaultSharedKeyPath) {
        backend = .postgresql
        path = Self.defaultPath
        self.keyPath = keyPath
        self.postgresql = postgresql
    }
}

extension StoreSettings: ConfigurationSection {
    static let tableName = "store"
    static let sqliteKeys = ["path"]
    static let allowedKeys = ["backend", "key_path", "credentials_cache"] + sqliteKeys + PostgreSQLSettings.keys

    init(reading reader: TableReader) throws(ConfigurationError) {
        let backend = try reader.choice("backend", as: Backend.self) ?? .sqlite
        let keyPath = try reader.string("key_path")
        // A key of the other backend is a mistake worth saying: it would be ignored.
        let foreign = backend == .sqlite ? PostgreSQLSettings.keys : Self.sqliteKeys
        for key in foreign where reader.table[key] != nil {
            let other = backend == .sqlite ? Backend.postgresql : .sqlite
            reader.issues.report(.invalid(reader.key(key), "is for backend = \"\(other.rawValue)\" only"))
        }
        switch backend {
        case .sqlite:
            self.init(path: try reader.string("path") ?? Self.defaultPath, keyPath: keyPath)
        case .postgresql:
            self.init(postgresql: try PostgreSQLSettings(reading: reader), keyPath: keyPath ?? Self.defaultSharedKeyPath)
        }
        credentialsCache = try reader.integer("credentials_cache", in: Self.credentialsCacheRange) ?? Self.defaultCredentialsCache
    }

    /// Makes the paths absolute against `baseDirectory` (the config file's folder).
    func resolved(against baseDirectory: String) -> StoreSettings {
        var settings = self
        settings.path = PathResolver.absolute(path, base: baseDirectory)
        settings.keyPath = PathResolver.absolute(keyPath, base: baseDirectory)
        settings.postgresql = postgresql?.resolved(against: baseDirectory)
        return settings
    }

    /// Called by `CountersignConfiguration.validate()`.
    func validate() throws(ConfigurationError) {
        if path.isEmpty { throw .invalid("store.path", "must not be empty") }
        if keyPath.isEmpty { throw .invalid("store.key_path", "must not be empty") }
        switch backend {
        case .sqlite: break
        case .postgresql:
            guard let postgresql else { throw .missing("store.url") }
            try postgresql.validate()
        }
    }
}
