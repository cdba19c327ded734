/// The RADIUS front end: `[radius]` and its `[[radius.clients]]`.
public struct RADIUSSettings: Sendable, Equatable {
    /// `radius.listen`, default `["127.0.0.1:1812"]`.
    public var listen: [ListenAddress]
    /// `radius.delimiter`, default `,`: separates password and code in User-Password; exactly one character.
    public var delimiter: String
    /// `radius.duplicate_window`, default 30, 1...600: how long replies are cached to answer
    /// retransmissions (RFC 5080 §2.2.2).
    public var duplicateWindowSeconds: Int
    /// `radius.client_failure_rate`, default 20, 0...1000000: failed attempts per second each client is allowed
    /// over time (its bucket refills at this rate). 0 turns the limit off.
    public var clientFailureRate: Int
    /// `radius.client_failure_burst`, default 100, 0...1000000: failed attempts a client may make in a row before
    /// its requests are rejected without being decided. 0 turns the limit off.
    public var clientFailureBurst: Int
    /// `radius.max_queue_wait`, default 3, 0.1...60 seconds: a login whose password check has not begun this long
    /// after the request arrived is dropped unanswered (its NAS has given up by then).
    public var maxQueueWait: Double
    /// `[[radius.clients]]`, at least one.
    public var clients: [RADIUSClientSettings]
    /// `radius.dictionary`: a FreeRADIUS dictionary file (with its `$INCLUDE`s) naming the reply rules' attributes;
    /// default Debian's `/usr/share/freeradius/dictionary` when installed, else the RFC 2865/2869 attributes.
    public var dictionary: String?
    /// `[[radius.reply]]`, in file order.
    public var replyRules: [RADIUSReplyRule]
    /// `[radius.tls]`: RadSec, for the clients with `transport = "tls"`; nil when the table is absent.
    public var tls: RADIUSTLSSettings?

    public static let defaultListen = [ListenAddress(host: "127.0.0.1", port: 1812)]
    public static let duplicateWindowRange = 1...600
    public static let defaultClientFailureRate = 20
    public static let defaultClientFailureBurst = 100
    public static let clientFailureRange = 0...1_000_000
    public static let defaultMaxQueueWait = 3.0
    public static let maxQueueWaitRange = 0.1...60.0

    public init(
        listen: [ListenAddress] = RADIUSSettings.defaultListen,
        delimiter: String = ",",
        duplicateWindowSeconds: Int = 30,
        clientFailureRate: Int = RADIUSSettings.defaultClientFailureRate,
        clientFailureBurst: Int = RADIUSSettings.defaultClientFailureBurst,
        maxQueueWait: Double = RADIUSSettings.defaultMaxQueueWait,
        clients: [RADIUSClientSettings],
        dictionary: String? = nil,
        replyRules: [RADIUSReplyRule] = [],
        tls: RADIUSTLSSettings? = nil
    ) {
        self.dictionary = dictionary
        self.replyRules = replyRules
        self.tls = tls
        self.maxQueueWait = maxQueueWait
        self.listen = listen
        self.delimiter = delimiter
        self.duplicateWindowSeconds = duplicateWindowSeconds
        self.clientFailureRate = clientFailureRate
        self.clientFailureBurst = clientFailureBurst
        self.clients = clients
    }
}

extension RADIUSSettings: ConfigurationSection {
    static let tableName = "radius"
    static let allowedKeys = [
        "listen", "delimiter", "duplicate_window", "client_failure_rate", "client_failure_burst", "max_queue_wait", "clients",
        "dictionary", "reply", RADIUSTLSSettings.tableName,
    ]

    init(reading reader: TableReader) throws(ConfigurationError) {
        // An absent list is reported by validation, with the same error as an empty one.
        let clients = try reader.tables("clients", allowedKeys: RADIUSClientSettings.allowedKeys) ?? []
        let replyRules = try reader.tables("reply", allowedKeys: RADIUSReplyRule.allowedKeys) ?? []
        self.init(
            listen: try reader.listenAddresses("listen") ?? Self.defaultListen,
            delimiter: try reader.string("delimiter") ?? ",",
            duplicateWindowSeconds: try reader.integer("duplicate_window") ?? 30,
            clientFailureRate: try reader.integer("client_failure_rate", in: Self.clientFailureRange) ?? Self.defaultClientFailureRate,
            clientFailureBurst: try reader.integer("client_failure_burst", in: Self.clientFailureRange) ?? Self.defaultClientFailureBurst,
            maxQueueWait: try reader.seconds("max_queue_wait", in: Self.maxQueueWaitRange) ?? Self.defaultMaxQueueWait,
            clients: try clients.map { (client) throws(ConfigurationError) in try RADIUSClientSettings(reading: client) },
            dictionary: try reader.string("dictionary"),
            replyRules: try replyRules.map { (rule) throws(ConfigurationError) in try RADIUSReplyRule(reading: rule) },
            tls: reader.table[RADIUSTLSSettings.tableName] == nil
                ? nil
                : try RADIUSTLSSettings(
                    reading: reader.table(RADIUSTLSSettings.tableName, allowedKeys: RADIUSTLSSettings.allowedKeys)))
    }
}

extension RADIUSSettings {
    /// Makes the dictionary path and the RadSec certificate, key and CA paths absolute against `baseDirectory` (the
    /// config file's folder).
    func resolved(against baseDirectory: String) -> RADIUSSettings {
        var settings = self
        settings.dictionary = PathResolver.absoluteIfSet(dictionary, base: baseDirectory)
        settings.tls = tls?.resolved(against: baseDirectory)
        return settings
    }
}
