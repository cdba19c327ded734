import NIOCore
import NIOSSL
import PostgresNIO

/// Where the store's PostgreSQL server is and how to reach it. The password comes from the environment or a file
/// (StoreOpener), never from the configuration file.
public struct PostgresEndpoint: Sendable {
    /// libpq's `sslmode` values of the same names (PostgreSQL documentation §34.19.1, "SSL Mode Descriptions").
    public enum TLSMode: Sendable {
        case disable
        /// TLS when the server offers it; verified against `caPath` when set, else not verified (libpq's `prefer`).
        case prefer
        /// TLS or no connection, verified against `caPath`, or the system's trust store.
        case require
    }

    public var host: String
    public var port: Int
    public var username: String
    public var password: String?
    public var database: String
    public var tls: TLSMode
    public var caPath: String?

    public init(
        host: String, port: Int = 5432, username: String, password: String?, database: String, tls: TLSMode = .prefer,
        caPath: String? = nil
    ) {
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.database = database
        self.tls = tls
        self.caPath = caPath
    }

    /// The same server, another database (the contract tests make one per test).
    public func database(_ name: String) -> PostgresEndpoint {
        var endpoint = self
        endpoint.database = name
        return endpoint
    }

    /// What `pg_stat_activity` shows of the store's connections (§28.2.3): the pool's, and the LISTEN connections'.
    public static let applicationName = "countersign"
    public static let feedApplicationName = "countersign push feed"

    /// A connection attempt that takes longer than this has failed: the login path waits for no more (`Deadline`).
    static let connectTimeoutSeconds: Int64 = 2

    func clientConfiguration() throws -> PostgresClient.Configuration {
        let tls: PostgresClient.Configuration.TLS =
            switch self.tls {
            case .disable: .disable
            case .prefer: .prefer(try tlsConfiguration())
            case .require: .require(try tlsConfiguration())
            }
        var configuration = PostgresClient.Configuration(
            host: host, port: port, username: username, password: password, database: database, tls: tls)
        configuration.options.connectTimeout = .seconds(Self.connectTimeoutSeconds)
        configuration.options.additionalStartupParameters = [("application_name", Self.applicationName)]
        // Each login holds a connection for a few short statements; more than this would only queue in the server.
        configuration.options.maximumConnections = 16
        return configuration
    }

    /// For a connection made without the pool (migrations, LISTEN).
    func connectionConfiguration(applicationName: String) throws -> PostgresConnection.Configuration {
        let tls: PostgresConnection.Configuration.TLS =
            switch self.tls {
            case .disable: .disable
            case .prefer: .prefer(try NIOSSLContext(configuration: tlsConfiguration()))
            case .require: .require(try NIOSSLContext(configuration: tlsConfiguration()))
            }
        var configuration = PostgresConnection.Configuration(
            host: host, port: port, username: username, password: password, database: database, tls: tls)
        configuration.options.connectTimeout = .seconds(Self.connectTimeoutSeconds)
        configuration.options.additionalStartupParameters = [("application_name", applicationName)]
        return configuration
    }

    private func tlsConfiguration() throws -> TLSConfiguration {
        var configuration = TLSConfiguration.makeClientConfiguration()
        if let caPath {
            do {
                configuration.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(caPath))
            } catch {
                throw StoreErrors.unreadableCA(caPath)
            }
        } else if tls == .prefer {
            // libpq's `prefer` encrypts without authenticating the server; `require` (or a CA) authenticates it.
            configuration.certificateVerification = .none
        }
        return configuration
    }
}
