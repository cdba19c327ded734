import Crypto
import Foundation
import Logging
import MFACore
import PostgresNIO

/// Users, devices, audit events, challenge States and pending pushes in PostgreSQL: one store shared by every node
/// of a cluster (design.md, Scale). Every rule is SQLiteStore's; what races between nodes is settled by single
/// statements (upserts, `DELETE … RETURNING`, conditional updates) or by transactions under advisory locks.
///
/// The store runs its own `PostgresClient`: `open` starts the client's `run()` in a task (the admin commands use
/// stores without a service group), `run()` waits until cancelled and then closes it, as does `close()`.
public final class PostgresStore: GatewayStore, ChallengeStore, PushCluster {
    let endpoint: PostgresEndpoint
    let database: PooledDatabase
    let secrets: SecretBox
    let timing: StoreTiming?
    let logger: Logger
    private let clientRun: Task<Void, Never>
    /// The LISTEN connections of `changes()`, ended by `close()`.
    let feeds = Locked<[UUID: Task<Void, Never>]>([:])
    private let backgroundFailureHandler = Locked<@Sendable (String, any Error) -> Void>({ _, _ in })
    let acceptedSincePrune = Locked(0)
    let challengePrune = Occasionally(every: .seconds(60))
    let pushPrune = Occasionally(every: .seconds(60))
    /// `appendSoon` and `append`, batched.
    let eventWriter: EventWriter
    /// What logins read, dropped when the `countersign_credentials` feed (started by the first login) says so.
    let credentialsCache: CredentialsCache
    let heardCredentialChanges = HeardCredentialChanges()
    private let credentialFeed = Locked<Task<Void, Never>?>(nil)

    /// The login path's statements (credentials, used steps, lockout, challenges, pushes) answer within this or fail.
    static let loginLimit: Duration = .seconds(2)
    /// The admin commands' statements.
    static let adminLimit: Duration = .seconds(15)
    /// A batch of audit events, a prune: work nobody waits for, which must not pile up behind a dead server.
    static let backgroundLimit: Duration = .seconds(5)
    /// `/readyz`.
    static let healthLimit: Duration = .seconds(1)

    /// Opens the store on `endpoint` with the key from `COUNTERSIGN_STORE_KEY` in `environment` or the key file at
    /// `keyPath` (every node needs the same key). Nothing is sent to the server yet: the first statement migrates.
    public static func open(
        _ endpoint: PostgresEndpoint, keyPath: String, environment: [String: String] = ProcessInfo.processInfo.environment,
        timing: StoreTiming? = nil, credentialsCache: Int = CredentialsCache.defaultCapacity,
        logger: Logger = Logger(label: "countersign.store")
    ) throws -> PostgresStore {
        try PostgresStore(
            endpoint: endpoint, key: SecretBox.loadKey(keyPath: keyPath, environment: environment), timing: timing,
            credentialsCache: credentialsCache, logger: logger)
    }

    public init(
        endpoint: PostgresEndpoint, key: SymmetricKey, timing: StoreTiming? = nil,
        credentialsCache capacity: Int = CredentialsCache.defaultCapacity, logger: Logger = Logger(label: "countersign.store")
    ) throws {
        self.endpoint = endpoint
        secrets = SecretBox(key: key)
        self.timing = timing
        self.logger = logger
        let client = PostgresClient(configuration: try endpoint.clientConfiguration())
        let database = PooledDatabase(client: client, endpoint: endpoint)
        self.database = database
        // The pool leases connections only while run() runs; started now, a statement made at once still works.
        clientRun = Task { await client.run() }
        let heard = heardCredentialChanges
        credentialsCache = CredentialsCache(capacity: capacity) { heard.look() }
        eventWriter = EventWriter { events in
            try await database.withConnection(Self.backgroundLimit) { connection in
                try await connection.run(Self.insertEvents(events))
            }
        }
    }

    deinit {
        clientRun.cancel()
    }

    /// Waits until cancelled, then closes the connections.
    public func run() async throws {
        while !Task.isCancelled { try? await Task.sleep(for: .seconds(3600)) }
        await close()
    }

    /// Writes what is queued, ends the LISTEN connections and closes the pool.
    public func close() async {
        try? await flush()
        for feed in feeds.withLock({ feeds in defer { feeds = [:] }; return Array(feeds.values) }) {
            feed.cancel()
            await feed.value
        }
        if let feed = credentialFeed.withLock({ feed in defer { feed = nil }; return feed }) {
            feed.cancel()
            await feed.value
        }
        clientRun.cancel()
        await clientRun.value
    }

    /// Starts hearing which users' credentials change, once: until it listens, nothing is cached.
    func hearCredentialChanges() {
        credentialFeed.withLock { feed in
            guard feed == nil else { return }
            let notifications = NotificationFeed(
                endpoint: endpoint, database: database, logger: logger, channel: Self.credentialsChannel,
                what: "credential change notifications")
            let heard = heardCredentialChanges
            feed = Task {
                await notifications.run(listening: heard.listening, heard: { user, _ in heard.heard(user) }, lost: heard.lost)
            }
        }
    }

    /// The NOTIFY channel of the users whose credentials changed (schema version 5's triggers); payload: the name.
    static let credentialsChannel = "countersign_credentials"

    // MARK: Background failures

    public func onBackgroundWriteFailure(_ handler: @escaping @Sendable (_ what: String, _ error: any Error) -> Void) {
        backgroundFailureHandler.withLock { $0 = handler }
    }

    func backgroundWriteFailed(_ what: String, _ error: any Error) {
        backgroundFailureHandler.withLock { $0 }(what, error)
    }

    /// Runs `work` off the caller's path; a failure goes to `onBackgroundWriteFailure`.
    func inBackground(_ what: String, _ work: @escaping @Sendable () async throws -> Void) {
        Task {
            do { try await work() } catch { self.backgroundWriteFailed(what, error) }
        }
    }
}
