/// The RADIUS front end: `[radius]` and its `[[radius.clients]]`.
public struct RADIUSSettings: Sendable, Equatable {
    /// `radius.listen`, default `["127.0.0.1:1812"]`.
    public var listen: [ListenAddress]
    /// `radius.delimiter`, default `,`: separates password and code in User-Password; exactly one character.
    public var delimiter: String
    /// `radius.duplicate_window`, default 30, 1...600: how long replies are cached to answer
    /// retransmissions (RFC 5080 §2.2.2).
    public var duplicateWindowSeconds: Int
    /// `[[radius.clients]]`, at least one.
    public var clients: [RADIUSClientSettings]

    public static let defaultListen = [ListenAddress(host: "127.0.0.1", port: 1812)]
    public static let duplicateWindowRange = 1...600

    public init(
        listen: [ListenAddress] = RADIUSSettings.defaultListen,
        delimiter: String = ",",
        duplicateWindowSeconds: Int = 30,
        clients: [RADIUSClientSettings]
    ) {
        self.listen = listen
        self.delimiter = delimiter
        self.duplicateWindowSeconds = duplicateWindowSeconds
        self.clients = clients
    }
}

extension RADIUSSettings: ConfigurationSection {
    static let tableName = "radius"
    static let allowedKeys = ["listen", "delimiter", "duplicate_window", "clients"]

    init(reading reader: TableReader) throws(ConfigurationError) {
        var listen = Self.defaultListen
        if let entries = try reader.strings("listen") {
            listen = []
            for (key, text) in entries {
                switch ListenAddress.parse(text) {
                case .success(let address): listen.append(address)
                case .failure(var error):
                    error.key = key
                    throw error
                }
            }
        }
        // An absent list is reported by validation, with the same error as an empty one.
        let clients = try reader.tables("clients", allowedKeys: RADIUSClientSettings.allowedKeys) ?? []
        self.init(
            listen: listen,
            delimiter: try reader.string("delimiter") ?? ",",
            duplicateWindowSeconds: try reader.integer("duplicate_window") ?? 30,
            clients: try clients.map { (client) throws(ConfigurationError) in try RADIUSClientSettings(reading: client) })
    }
}
