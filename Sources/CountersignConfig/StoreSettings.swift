/// Where the database lives: `[store]`.
public struct StoreSettings: Sendable, Equatable {
    /// `store.path`, default `countersign.db`; absolute after loading.
    public var path: String
    /// `store.key_path`, default `path + ".key"`; absolute after loading.
    /// The file holds the key that encrypts TOTP secrets at rest; kept apart so a copied database alone reveals nothing.
    public var keyPath: String

    public static let defaultPath = "countersign.db"

    public init(path: String = StoreSettings.defaultPath, keyPath: String? = nil) {
        self.path = path
        self.keyPath = keyPath ?? path + ".key"
    }
}

extension StoreSettings: ConfigurationSection {
    static let tableName = "store"
    static let allowedKeys = ["path", "key_path"]

    init(reading reader: TableReader) throws(ConfigurationError) {
        self.init(path: try reader.string("path") ?? Self.defaultPath, keyPath: try reader.string("key_path"))
    }

    /// Makes both paths absolute against `baseDirectory` (the config file's folder).
    func resolved(against baseDirectory: String) -> StoreSettings {
        StoreSettings(
            path: PathResolver.absolute(path, base: baseDirectory),
            keyPath: PathResolver.absolute(keyPath, base: baseDirectory))
    }
}
