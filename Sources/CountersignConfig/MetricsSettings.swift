/// The Prometheus listener: `[metrics]`.
public struct MetricsSettings: Sendable, Equatable {
    /// `metrics.listen`, one `host:port` string, default none (no listener): `/metrics`, `/healthz` and `/readyz`
    /// over plain HTTP. Keep it on loopback or a management network.
    public var listen: ListenAddress?

    public init(listen: ListenAddress? = nil) {
        self.listen = listen
    }
}

extension MetricsSettings: ConfigurationSection {
    static let tableName = "metrics"
    static let allowedKeys = ["listen"]

    init(reading reader: TableReader) throws(ConfigurationError) {
        self.init(listen: try reader.listenAddress("listen"))
    }

    func validate() throws(ConfigurationError) {
        if let listen { try CountersignConfiguration.validate(listen, key: "metrics.listen") }
    }
}
