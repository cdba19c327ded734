import Foundation
import MFACore
import Prometheus
import RADIUSCodec
import RADIUSServer

/// The gateway's Prometheus metrics, each with its HELP text. Every series is made here, up front, so that the
/// request path only increments an atomic counter (histograms take swift-prometheus's lock of their own series).
/// RADIUS names follow RFC 4669's server MIB and FreeRADIUS's Status-Server counters.
public final class GatewayMetrics: RADIUSCounters {
    public let registry = PrometheusCollectorRegistry()
    private let requests: [Counter]
    private let accepts: [Counter]
    private let rejects: [Counter]
    private let challenges: [Counter]
    private let duplicates: [Counter]
    private let drops: [DropReason: Counter]
    private let logins: [String: DurationHistogram]
    private let pushesPending: Gauge
    private let pushOutcomes: [AuditEventType: Counter]
    private let ldapBinds: [AuditResult: Counter]
    private let storeOperations: [StoreOperation: DurationHistogram]
    private let process: ProcessMetrics

    static let frontEnds: [Resource.Kind] = [.radius, .ldap, .api]
    static let outcomes = ["accept", "reject", "challenge", "dropped"]

    /// `clients`: the names of `radius.clients`, in order.
    public init(clients: [String]) {
        let registry = self.registry
        func perClient(_ name: String, _ help: String) -> [Counter] {
            clients.map { registry.makeCounter(name: name, labels: [("client", $0)], help: help) }
        }
        requests = perClient("countersign_radius_access_requests_total", "Access-Requests received, by client (duplicates included).")
        accepts = perClient("countersign_radius_access_accepts_total", "Access-Accepts sent, by client.")
        rejects = perClient("countersign_radius_access_rejects_total", "Access-Rejects sent, by client.")
        challenges = perClient("countersign_radius_access_challenges_total", "Access-Challenges sent, by client.")
        duplicates = perClient(
            "countersign_radius_duplicate_requests_total", "Retransmitted Access-Requests (RFC 5080 duplicate cache), by client.")
        drops = Dictionary(
            uniqueKeysWithValues: DropReason.allCases.map { reason in
                (
                    reason,
                    registry.makeCounter(
                        name: "countersign_radius_dropped_requests_total", labels: [("reason", reason.rawValue)],
                        help: "RADIUS requests dropped without a reply, by reason.")
                )
            })
        // Logins take from milliseconds (a code) to the push timeout (45 s by default).
        let loginBuckets: [Duration] = [.milliseconds(5), .milliseconds(25), .milliseconds(100), .milliseconds(250), .milliseconds(500),
            .seconds(1), .seconds(2.5), .seconds(5), .seconds(10), .seconds(30), .seconds(60)]
        var logins: [String: DurationHistogram] = [:]
        for frontEnd in Self.frontEnds {
            for outcome in Self.outcomes {
                logins["\(frontEnd.rawValue) \(outcome)"] = registry.makeDurationHistogram(
                    name: "countersign_login_duration_seconds", labels: [("front_end", frontEnd.rawValue), ("outcome", outcome)],
                    buckets: loginBuckets, help: "Time from a login's arrival to its verdict, by front end and outcome.")
            }
        }
        self.logins = logins
        pushesPending = registry.makeGauge(name: "countersign_pushes_pending", help: "Pushes waiting for a device's answer.")
        pushOutcomes = Dictionary(
            uniqueKeysWithValues: [(AuditEventType.pushApproved, "approved"), (.pushDenied, "denied"), (.pushTimeout, "timeout")].map {
                type, outcome in
                (
                    type,
                    registry.makeCounter(
                        name: "countersign_push_outcomes_total", labels: [("outcome", outcome)], help: "Pushes ended, by outcome.")
                )
            })
        ldapBinds = Dictionary(
            uniqueKeysWithValues: [AuditResult.success, .failure].map { result in
                (
                    result,
                    registry.makeCounter(
                        name: "countersign_ldap_binds_total", labels: [("outcome", result.rawValue)],
                        help: "Intercepted LDAP binds decided, by outcome.")
                )
            })
        let storeBuckets: [Duration] = [.microseconds(100), .microseconds(500), .milliseconds(1), .milliseconds(5), .milliseconds(10),
            .milliseconds(50), .milliseconds(100), .milliseconds(500), .seconds(1)]
        storeOperations = Dictionary(
            uniqueKeysWithValues: StoreOperation.allCases.map { operation in
                (
                    operation,
                    registry.makeDurationHistogram(
                        name: "countersign_store_operation_duration_seconds", labels: [("operation", operation.rawValue)],
                        buckets: storeBuckets, help: "Time of the login path's store operations, by operation.")
                )
            })
        process = ProcessMetrics(registry: registry)
    }

    // MARK: RADIUS (RADIUSCounters)

    public func accessRequestReceived(client: Int) { requests[client].increment() }
    public func duplicateReceived(client: Int) { duplicates[client].increment() }
    public func requestDropped(_ reason: DropReason) { drops[reason]?.increment() }

    public func replySent(_ code: RADIUSCode, client: Int) {
        switch code {
        case .accessAccept: accepts[client].increment()
        case .accessReject: rejects[client].increment()
        case .accessChallenge: challenges[client].increment()
        default: break
        }
    }

    // MARK: The rest of the gateway

    func loginDecided(_ kind: Resource.Kind, _ verdict: Verdict, after duration: Duration) {
        let outcome =
            switch verdict {
            case .accept: "accept"
            case .reject: "reject"
            case .challenge: "challenge"
            case .dropped: "dropped"
            }
        logins["\(kind.rawValue) \(outcome)"]?.record(duration)
    }

    /// Push outcomes and LDAP binds, from the audit events that record them.
    func recorded(_ event: AuditEvent) {
        if event.type == .ldapBind { ldapBinds[event.result]?.increment() }
        pushOutcomes[event.type]?.increment()
    }

    var storeTiming: StoreTiming {
        { [storeOperations] operation, duration in storeOperations[operation]?.record(duration) }
    }

    /// Prometheus's text format, with the gauges read now.
    func exposition(pushesPending pending: Int) -> [UInt8] {
        pushesPending.set(Int64(pending))
        process.update()
        return registry.emitToBuffer()
    }
}
