import CountersignConfig
import Crypto
import CountersignHTTP
import DeviceProtocol
import Foundation
import LDAPProxy
import Logging
import MFACore
import NIOPosix
import RADIUSCodec
import RADIUSServer
import RADIUSUpstream
import ServiceLifecycle
import WebConsole

/// The running gateway, built from a configuration: the store, the MFA core with push, the RADIUS service and the
/// HTTP service. `countersign serve` and the integration tests build it the same way.
public final class CountersignGateway: Sendable {
    public let configuration: CountersignConfiguration
    public let store: any GatewayStore
    public let push: PushCoordinator
    public let authenticator: MFAAuthenticator
    public let radius: RADIUSServer
    /// Requests shed under load, by reason and client (also logged as `dropped requests`).
    public let drops: DropReport
    /// Where password checks wait their client's turn.
    public let work: LoginWorkQueue
    public let http: CountersignHTTPServer
    /// The LDAP bind proxy, when `[ldap]` has a listener.
    public let ldap: LDAPProxyServer?
    /// Readiness and status, as `/readyz` and `/v1/status` report them.
    public let probe: any NodeProbe
    /// The Prometheus metrics, served on `metrics.listen` when it is set.
    public let metrics: GatewayMetrics
    /// The metrics listener, when `metrics.listen` is set.
    public let metricsServer: MetricsHTTPServer?
    private let services: ServiceGroup

    public init(
        configuration: CountersignConfiguration, clock: any WallClock = SystemWallClock(),
        hasher: PasswordHasher = PasswordHasher(), handlingSignals: Bool = true, logger: Logger = Logger(label: "countersign"),
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) async throws {
        self.configuration = configuration
        let metrics = GatewayMetrics(clients: configuration.radius.clients.map(\.name))
        self.metrics = metrics
        let dictionary = try Self.dictionary(configuration)
        let replyRules = try RADIUSReplyRules(configuration.radius.replyRules, dictionary: dictionary)
        store = try StoreOpener.open(
            configuration.store, environment: environment, timing: metrics.storeTiming, endOfTurn: .eventLoopPass,
            longRunning: true)
        let limit = configuration.push.limit
        let webhooks =
            configuration.push.notify.isEmpty
            ? nil
            : WebhookNotifier(
                webhooks: configuration.push.notify, publicURL: configuration.http.publicURL, clock: clock, logger: logger)
        var userVerification: WebAuthnRelyingParty?
        if configuration.push.requireUserVerification {
            guard let relyingParty = WebAuthnRelyingParty(publicURL: configuration.http.publicURL) else {
                throw ConfigurationError(
                    code: .invalidValue, key: "push.require_user_verification",
                    message: "needs http.public_url with a host name, got \"\(configuration.http.publicURL)\"")
            }
            userVerification = relyingParty
        }
        let limiter = PushLimiter.Settings(
            enabled: limit.enabled, maxConcurrent: limit.maxConcurrent, window: Double(limit.windowSeconds),
            exempt: Set(limit.exempt.compactMap(Resource.Kind.init(rawValue:))))
        // The console's settings over the configuration's, the same on every node within a second.
        let gatewaySettings = GatewaySettingsCache(
            defaults: EffectiveGatewaySettings(pushLimit: limiter, allowUnenrolled: configuration.mfa.unenrolled == .allow),
            store: store, clock: clock, logger: logger)
        push = PushCoordinator(
            signingKey: try await store.serverSigningKey(), timeout: Double(configuration.push.timeoutSeconds),
            limiter: limiter, clock: clock, userVerification: userVerification, notifier: webhooks,
            // Several nodes on one store: pushes are shared; on one node they stay in memory.
            cluster: store as? any PushCluster, settings: gatewaySettings)
        // A store out of reach fails every queued write: said once per reminder interval, not once per event.
        let writeFailureWarning = Occasionally(every: .seconds(10))
        store.onBackgroundWriteFailure { what, error in
            guard writeFailureWarning.isDue() else { return }
            logger.error("store write failed", metadata: ["write": "\(what)", "error": "\(error)"])
        }
        // Several nodes: a store out of reach makes this node refuse logins at once and go quiet on Status-Server.
        let availability: StoreAvailability? = store is any PushCluster ? StoreAvailability() : nil
        let logins = RecentLogins()
        let audit = AuditRecorder(store: store, node: configuration.node.name, logger: logger, queued: true) { event in
            logins.record(event)
            metrics.recorded(event)
        }
        let primary: any PrimaryVerifier =
            switch configuration.primary.source {
            case .local: LocalPasswordVerifier(hasher: hasher)
            case .ldap: try LDAPPrimaryVerifier(ldap: configuration.ldap, primary: configuration.primary, logger: logger)
            case .radius: try UpstreamRADIUSVerifier(primary: configuration.primary, dictionary: dictionary, clock: clock, logger: logger)
            }
        drops = DropReport(logger: logger, clock: clock)
        // Password checks wait their client's turn: as many scrypt hashes at once as there are cores (a directory
        // bind is mostly a wait: more of them).
        work = LoginWorkQueue(
            settings: FairQueueSettings(
                maximumRunning: configuration.primary.source == .local ? ProcessInfo.processInfo.activeProcessorCount : 64,
                maximumWait: configuration.radius.maxQueueWait),
            clock: clock)
        let lockout = LockoutPolicy(
            maxFailures: configuration.lockout.maxFailures, window: Double(configuration.lockout.windowSeconds),
            duration: Double(configuration.lockout.durationSeconds))
        authenticator = MFAAuthenticator(
            store: store, audit: audit, primary: primary,
            policy: MFAAuthenticator.Policy(
                allowUnenrolled: configuration.mfa.unenrolled == .allow, driftSteps: configuration.totp.driftSteps,
                challengeWhenDeviceOffline: configuration.push.fallback == .totpChallenge,
                lockout: lockout,
                numberMatching: configuration.push.numberMatching, readsGroups: replyRules.namesGroups),
            clock: clock, challenges: ChallengeBook(store: (store as? any ChallengeStore) ?? MemoryChallengeStore()),
            // The same on every node: the same attempt through another node joins the push it made.
            joinKeySalt: SymmetricKey(data: try await store.sharedKey(named: "join-key-salt")),
            push: push, work: work, availability: availability, settings: gatewaySettings, logger: logger)
        let measured = MeasuredAuthenticator(authenticator: authenticator, metrics: metrics)
        radius = try RADIUSServer(
            settings: configuration.radius, authenticator: measured, clock: clock, audit: audit, drops: drops, counters: metrics,
            availability: availability, replyRules: replyRules, logger: logger)
        let notifier = SystemdNotifier(environment: environment)
        // The listeners that bind in `run`: HTTP, and metrics when set (RADIUS and LDAP bind before).
        let listeners = ListenerReadiness(waitingFor: configuration.metrics.listen == nil ? 1 : 2, notifier: notifier)
        probe = GatewayProbe(
            started: clock.now(), clock: clock, push: push, logins: logins, listeners: listeners, store: store,
            directory: configuration.ldap.isEnabled || configuration.primary.source == .ldap ? configuration.ldap.upstream : nil)
        let console = AdminConsole(
            store: store,
            actions: CountersignAdmin(
                store: store, issuer: configuration.totp.issuer, publicURL: configuration.http.publicURL, hasher: hasher, clock: clock,
                node: configuration.node.name, logger: logger),
            audit: audit, gatewaySettings: gatewaySettings,
            // The same on every node: a session signed in on one is good on all.
            sessionKey: try await store.sharedKey(named: "web-session"),
            settings: AdminConsole.Settings(
                publicURL: configuration.http.publicURL, tls: configuration.http.servesTLS, totpIssuer: configuration.totp.issuer,
                driftSteps: configuration.totp.driftSteps, lockout: lockout),
            clock: clock, hasher: hasher, logger: logger)
        let portal = UserPortal(
            store: store, authenticator: measured,
            deviceLinks: CountersignAdmin(
                store: store, issuer: configuration.totp.issuer, publicURL: configuration.http.publicURL, hasher: hasher, clock: clock,
                node: configuration.node.name, logger: logger),
            audit: audit, sessionKey: try await store.sharedKey(named: "web-session"),
            settings: UserPortal.Settings(
                publicURL: configuration.http.publicURL, tls: configuration.http.servesTLS, totpIssuer: configuration.totp.issuer,
                driftSteps: configuration.totp.driftSteps, enrollWithPassword: configuration.portal.enrollWithPassword),
            clock: clock, logger: logger)
        http = try CountersignHTTPServer(
            settings: configuration.http, store: store, push: push, authenticator: measured, audit: audit,
            clock: clock, drops: drops, probe: probe, console: console, portal: portal, onListening: { listeners.oneBound() }, logger: logger)
        ldap =
            configuration.ldap.isEnabled
            ? try LDAPProxyServer(
                settings: configuration.ldap, delimiter: configuration.radius.delimiter.first ?? ",", authenticator: measured,
                audit: audit, clock: clock, drops: drops, logger: logger)
            : nil
        let (pushes, probe) = (push, self.probe)
        metricsServer = configuration.metrics.listen.map { listen in
            MetricsHTTPServer(
                listen: listen, probe: probe, exposition: { metrics.exposition(pushesPending: pushes.pendingCount) },
                onListening: { listeners.oneBound() }, logger: logger)
        }
        // Shut down in reverse: pushes are answered first, then the listeners drain, and the store goes last.
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [.init(service: StoreService(store: store))]
        // Its sockets close once the listeners have drained.
        if let upstream = primary as? UpstreamRADIUSVerifier { services.append(.init(service: upstream.client)) }
        services.append(.init(service: radius))
        if let ldap { services.append(.init(service: ldap)) }
        services.append(.init(service: http))
        if let metricsServer { services.append(.init(service: metricsServer)) }
        services += [
            .init(service: PushExpiryService(push: push, clock: clock)),
            .init(service: DropReportService(drops: drops)),
            .init(service: StoppingNotice(notifier: notifier)),
        ]
        if let webhooks { services.append(.init(service: webhooks)) }
        if let availability {
            services.append(.init(service: PushFeedService(push: push)))
            services.append(.init(service: StoreHealthMonitor(store: store, availability: availability, clock: clock, logger: logger)))
        }
        self.services = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: services,
                gracefulShutdownSignals: handlingSignals ? [.sigterm, .sigint] : [], logger: logger))
    }

    /// The dictionary `[[radius.reply]]` and `primary.pass_through` name attributes in, read only when one of them does.
    static func dictionary(_ configuration: CountersignConfiguration) throws(ConfigurationError) -> RADIUSDictionary {
        guard !configuration.radius.replyRules.isEmpty || configuration.primary.passThrough.namesAttributes else { return .builtIn }
        return try RADIUSDictionaryFiles.load(configuration.radius.dictionary)
    }

    /// What `config check` checks beyond the file: the attribute names of `[[radius.reply]]` and
    /// `primary.pass_through`, against the dictionary `serve` would load.
    public static func checkAttributeNames(_ configuration: CountersignConfiguration) throws(ConfigurationError) {
        let dictionary = try dictionary(configuration)
        _ = try RADIUSReplyRules(configuration.radius.replyRules, dictionary: dictionary)
        _ = try PassThroughFilter(configuration.primary.passThrough, dictionary: dictionary)
    }

    /// Binds the RADIUS sockets and the LDAP listeners; nothing is served until `run`. Fails as a whole if one
    /// address cannot be bound. Returns the RADIUS addresses.
    @discardableResult
    public func bind() async throws -> [SocketAddressDescription] {
        let radiusAddresses = try await radius.bind().map { SocketAddressDescription(host: $0.ipAddress ?? "?", port: $0.port ?? 0) }
        try await ldap?.bind()
        return radiusAddresses
    }

    /// Serves until SIGTERM or SIGINT (or `shutdown()`), then shuts down gracefully: pending pushes are answered
    /// with a reject first.
    public func run() async throws {
        do {
            try await bind()
            try await services.run()
        } catch {
            try? await store.flush()
            throw error
        }
        // The last logins' audit events are still queued for the store.
        try await store.flush()
    }

    public func shutdown() async {
        await services.triggerGracefulShutdown()
    }
}

/// The store's own work while the gateway runs (its connections, for PostgreSQL): stopped last, once what the other
/// services queued for it is written.
struct StoreService: Service {
    let store: any GatewayStore

    func run() async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await store.run() }
            try? await gracefulShutdown()
            try? await store.flush()
            group.cancelAll()
        }
    }
}

/// Times out unanswered pushes (once a second); at shutdown answers every waiting login.
struct PushExpiryService: Service {
    let push: PushCoordinator
    let clock: any WallClock

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(1))
                push.expire(now: clock.now())
            }
        }
        push.cancelAll()
    }
}

/// Logs what the end of a burst of drops left unlogged (`DropReport.reportDue`), once per the report's interval.
struct DropReportService: Service {
    let drops: DropReport

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(drops.interval))
                drops.reportDue()
            }
        }
    }
}

/// Asks the shared store every second whether it answers, for `StoreAvailability`; logs losing it (again once a
/// minute) and getting it back.
struct StoreHealthMonitor: Service {
    let store: any GatewayStore
    let availability: StoreAvailability
    let clock: any WallClock
    let logger: Logger

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                let problem = await store.healthProblem()
                switch availability.checked(problem: problem, now: clock.now()) {
                case .lost(let problem), .stillLost(let problem):
                    logger.error("store unreachable: refusing logins, not answering Status-Server", metadata: ["problem": "\(problem)"])
                case .recovered:
                    logger.notice("store reachable again: serving logins")
                case nil:
                    break
                }
                try? await Task.sleep(for: .seconds(1))
            }
        }
    }
}

/// Follows the other nodes' pushes (a cluster only: a service that returns would stop the gateway).
struct PushFeedService: Service {
    let push: PushCoordinator

    func run() async throws {
        await cancelWhenGracefulShutdown { await push.follow() }
    }
}

/// Tells systemd `STOPPING=1` as a graceful shutdown begins (it is the last service, so the first told to stop).
struct StoppingNotice: Service {
    let notifier: SystemdNotifier

    func run() async throws {
        try? await gracefulShutdown()
        notifier.notify("STOPPING=1")
    }
}

public struct SocketAddressDescription: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var port: Int
    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}

extension EndOfTurn {
    /// On an event loop: after the work already queued on it (the logins its last read started). NIO's loop runs its
    /// queue in order, so a task queued now runs once those have reached their writes.
    static let eventLoopPass = EndOfTurn { work in
        guard let loop = MultiThreadedEventLoopGroup.currentEventLoop else { return false }
        loop.execute(work)
        return true
    }
}
