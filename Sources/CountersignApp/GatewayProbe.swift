import CountersignConfig
import CountersignHTTP
import Foundation
import LDAPProxy
import MFACore

/// The running gateway as `/readyz` and `/v1/status` see it.
struct GatewayProbe: NodeProbe {
    let started: Date
    let clock: any WallClock
    let push: PushCoordinator
    let logins: RecentLogins
    let listeners: ListenerReadiness
    let store: any GatewayStore
    /// The directory, when the LDAP proxy or the password check uses it.
    let directory: LDAPUpstreamSettings?
    /// How long each dependency has to answer.
    static let timeout: Duration = .seconds(2)

    func status() async -> NodeStatus {
        let now = clock.now()
        return NodeStatus(
            version: CountersignVersion.current, uptimeSeconds: max(0, Int(now.timeIntervalSince(started))),
            pushesPending: push.pendingCount, loginsWaitingOnPush: push.waitingLoginCount, lastMinute: logins.lastMinute(now: now))
    }

    func readinessProblems() async -> [String] {
        async let store = Self.answer(within: Self.timeout) { await self.store.healthProblem() }
        async let directory: String? =
            if let settings = self.directory {
                Self.answer(within: Self.timeout) { await DirectoryProbe.problem(of: settings, timeoutSeconds: 2) }
            } else {
                nil
            }
        var problems = listeners.isBound ? [] : ["listeners: not all bound yet"]
        if let store = await store { problems.append("store: \(store)") }
        if let directory = await directory { problems.append("directory: \(directory)") }
        return problems
    }

    /// `check`'s answer, or a line saying it gave none within `timeout`; a late check finishes unawaited (a read
    /// stuck on a dead disk cannot be cancelled).
    static func answer(within timeout: Duration, _ check: @escaping @Sendable () async -> String?) async -> String? {
        let waiting = Locked<CheckedContinuation<String?, Never>?>(nil)
        let finish: @Sendable (String?) -> Void = { answer in
            waiting.withLock { continuation in
                defer { continuation = nil }
                return continuation
            }?.resume(returning: answer)
        }
        return await withCheckedContinuation { continuation in
            waiting.withLock { $0 = continuation }
            let timer = Task {
                try await Task.sleep(for: timeout)
                finish("no answer within \(timeout.components.seconds) s")
            }
            Task {
                finish(await check())
                timer.cancel()
            }
        }
    }
}

/// Counts the listeners that bind as the services start; systemd hears `READY=1` once the last has (`Type=notify`).
final class ListenerReadiness: Sendable {
    private let waiting: Locked<Int>
    private let notifier: SystemdNotifier

    init(waitingFor count: Int, notifier: SystemdNotifier) {
        waiting = Locked(count)
        self.notifier = notifier
    }

    var isBound: Bool { waiting.withLock { $0 == 0 } }

    func oneBound() {
        let last = waiting.withLock { waiting in
            waiting -= 1
            return waiting == 0
        }
        if last { notifier.notify("READY=1\nSTATUS=serving") }
    }
}
