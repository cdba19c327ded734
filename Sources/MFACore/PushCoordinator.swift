import Crypto
import DeviceProtocol
import Foundation

/// Push orchestration: create and sign a push, deliver it to the device's open poll, take the first valid signed
/// answer, expire what nobody answered. On a single node pushes live in memory, as long as the login that waits for
/// them. In a cluster (`PushCluster`) each push is also shared: this node keeps the pushes of every node it has heard
/// of (`follow`), so a device polling here gets them and its answer here releases the login waiting on another node.
public final class PushCoordinator: Sendable {
    /// Raw values as the shared store keeps them.
    public enum Outcome: String, Sendable, Equatable {
        case approved
        case denied
        case timedOut = "timed_out"
        /// The push limiter refused it; nothing was sent.
        case limited
        /// The gateway is shutting down.
        case cancelled
    }

    /// What `push` returns: the outcome, the push it waited for, and whether this call created it (a login that
    /// joined a pending push writes no push events of its own).
    public struct Result: Sendable, Equatable {
        public var outcome: Outcome
        public var pushID: String?
        public var created: Bool
        /// Number matching: the number the device showed after its approval.
        public var number: String?

        public init(outcome: Outcome, pushID: String?, created: Bool, number: String? = nil) {
            self.outcome = outcome
            self.pushID = pushID
            self.created = created
            self.number = number
        }

        var numberOutcome: (outcome: Outcome, number: String?) { (outcome, number) }
    }

    public enum AnswerRefusal: String, Error, Sendable {
        case unknownPush = "unknown_push"
        case wrongDevice = "wrong_device"
        case expired = "expired"
        case badSignature = "bad_signature"
        /// User verification is required and the device has no WebAuthn credential: it must enroll again.
        case userVerificationRequired = "user_verification_required"
        /// User verification is required and the answer's assertion is missing or does not check out.
        case userNotVerified = "user_not_verified"
    }

    private struct Pending {
        var message: PushMessage
        var devicePublicKey: String
        var webAuthn: WebAuthnCredential?
        var limiterKey: PushLimiter.Key
        var joinKey: String?
        var waiters: [Waiter]
        /// Attempts that joined on arrival (`joinPending`), before they waited.
        var joiners: [PushJoin] = []
        /// Number matching: nobody waits while the push is out; the challenge response claims its outcome later.
        var numberMatching = false
        /// Its outcome is kept for a later `claim` when nobody waits as it arrives (number matching, and a push
        /// waiting to be shared, whose login attaches after).
        var claimable = false
        /// Handed to the device's polls; a push being shared is not, until the cluster has it.
        var deliverable = true
        /// Created by a login on another node; this node only mirrors it.
        var remote = false
        var resource: Resource
    }

    /// A number-matching push's outcome, kept until its challenge response claims it or the challenge expires.
    private struct Unclaimed {
        var outcome: Outcome
        var number: String?
        var expires: Date
    }

    private struct Waiter {
        var continuation: CheckedContinuation<Result, Never>
        /// The login that created the push (it writes the push events).
        var created: Bool
    }

    private struct DeviceWaiter {
        var token: UInt64
        var continuation: CheckedContinuation<[PushMessage], Never>
    }

    private struct State {
        var pending: [String: Pending] = [:]
        /// The pending pushes of each device, oldest first: a device's poll finds its own without a look at all.
        var pendingByDevice: [String: [String]] = [:]
        var byJoinKey: [String: String] = [:]
        var unclaimed: [String: Unclaimed] = [:]
        /// In a cluster: pushes resolved here lately, so that news of their creation arriving late adopts nothing.
        var recentlyResolved = RecentIDs(capacity: 10_000)
        var deviceWaiters: [String: [DeviceWaiter]] = [:]
        var deviceLastSeen: [String: Date] = [:]
        /// In a cluster: when another node last said a device polls there.
        var deviceSeenElsewhere: [String: Date] = [:]
        /// In a cluster: when this node last told the others a device polls here.
        var deviceAnnounced: [String: Date] = [:]
        var limiter: PushLimiter
        var nextToken: UInt64 = 0
        /// Set by `cancelAll` at shutdown: no new push, no waiting poll.
        var closed = false
        var watchers: [(condition: @Sendable (Snapshot) -> Bool, continuation: CheckedContinuation<Void, Never>)] = []

        var snapshot: Snapshot {
            // An attempt joined on arrival waits on the push as much as one that registered.
            Snapshot(
                waitingLogins: pending.mapValues { $0.waiters.count + $0.joiners.count },
                devicesSeenElsewhere: Set(deviceSeenElsewhere.keys))
        }

        mutating func add(_ push: Pending) {
            pending[push.message.id] = push
            pendingByDevice[push.message.deviceID, default: []].append(push.message.id)
        }

        mutating func remove(_ pushID: String) -> Pending? {
            guard let push = pending.removeValue(forKey: pushID) else { return nil }
            let deviceID = push.message.deviceID
            pendingByDevice[deviceID]?.removeAll { $0 == pushID }
            if pendingByDevice[deviceID]?.isEmpty == true { pendingByDevice[deviceID] = nil }
            return push
        }

        func pushes(forDevice deviceID: String) -> [PushMessage] {
            (pendingByDevice[deviceID] ?? []).compactMap { id in pending[id].flatMap { $0.deliverable ? $0.message : nil } }
        }
    }

    /// What `waitUntil` conditions see: the pending pushes and how many logins wait on each.
    public struct Snapshot: Sendable {
        public var waitingLogins: [String: Int]
        /// In a cluster: devices another node has said poll there.
        public var devicesSeenElsewhere: Set<String>
        public var pendingCount: Int { waitingLogins.count }
    }

    public let timeout: TimeInterval
    /// How long a number-matching push's outcome waits for its challenge response (the State's lifetime).
    public static let claimLifetime: TimeInterval = 300
    /// A device whose last poll ended this recently still counts as connected (it is between two polls).
    public static let reconnectGrace: TimeInterval = 10
    /// In a cluster, a device polling another node counts as connected this long after that node said so; each node
    /// says it again at most every `announceInterval` while the device keeps polling there (a poll lasts under a minute).
    public static let presenceLifetime: TimeInterval = 75
    public static let announceInterval: TimeInterval = 20
    /// Set under `push.require_user_verification`: every answer must carry a WebAuthn assertion for this RP.
    public let userVerification: WebAuthnRelyingParty?
    private let signingKey: P256.Signing.PrivateKey
    private let clock: any WallClock
    private let notifier: (any PushNotifier)?
    /// Several nodes: where pushes are shared; nil on a single node.
    private let cluster: (any PushCluster)?
    private let limiterSettings: PushLimiter.Settings
    /// The console's overrides of `limiterSettings`, read at each push.
    private let settings: GatewaySettingsCache?
    private let state: Locked<State>

    public init(
        signingKey: P256.Signing.PrivateKey, timeout: TimeInterval = 45, limiter: PushLimiter.Settings = .init(),
        clock: any WallClock = SystemWallClock(), userVerification: WebAuthnRelyingParty? = nil, notifier: (any PushNotifier)? = nil,
        cluster: (any PushCluster)? = nil, settings: GatewaySettingsCache? = nil
    ) {
        self.cluster = cluster
        self.settings = settings
        self.limiterSettings = limiter
        self.signingKey = signingKey
        self.timeout = timeout
        self.clock = clock
        self.userVerification = userVerification
        self.notifier = notifier
        self.state = Locked(State(limiter: PushLimiter(settings: limiter)))
    }

    public var serverPublicKey: String { DeviceCrypto.encode(signingKey.publicKey) }

    // MARK: Logins

    /// Pushes to `device` and waits for the answer, the timeout or shutdown. A login with the same `joinKey` as a
    /// pending push (the same attempt through another Identifier or server address) waits for that push instead.
    public func push(
        username: String, device: EnrolledDevice, resource: Resource, clientAddress: String, callingStationID: String? = nil,
        joinKey: String? = nil
    ) async -> Result {
        // The request is made and signed in a synchronous function: a login keeps its async frames, sized for
        // everything held across a wait, for as long as the push waits.
        let request = signedRequest(
            username: username, device: device, resource: resource, clientAddress: clientAddress, callingStationID: callingStationID)
        let limit = await currentLimit()
        guard let cluster else {
            return await withCheckedContinuation { continuation in
                register(request, device: device, resource: resource, joinKey: joinKey, limit: limit, continuation: continuation)
            }
        }
        switch await share(request, device: device, resource: resource, joinKey: joinKey, numberMatching: false, limit: limit, cluster) {
        case .out(let pushID): return await wait(on: pushID, created: true)
        case .joined(let pushID): return await wait(on: pushID, created: false)
        case .refused(let outcome): return Result(outcome: outcome, pushID: nil, created: false)
        }
    }

    private enum Sharing {
        /// This push went out.
        case out(String)
        /// The same attempt's pending push (of this node or another): wait for that one.
        case joined(String)
        /// Limited, or the gateway is shutting down.
        case refused(Outcome)
    }

    /// A push in a cluster: kept here first (so that an answer through another node finds it), then shared, which
    /// decides whether it goes out, joins another node's pending push with its join key, or is limited.
    @inline(never)
    private func share(
        _ request: PushMessage, device: EnrolledDevice, resource: Resource, joinKey: String?, numberMatching: Bool,
        limit: PushLimiter.Settings, _ cluster: any PushCluster
    ) async -> Sharing {
        // The same attempt as a push this node knows (its own or another node's).
        if let joinKey, let existing = state.withLock({ $0.byJoinKey[joinKey] }) { return .joined(existing) }
        let pending = Pending(
            message: request, devicePublicKey: device.publicKey, webAuthn: device.webAuthn,
            limiterKey: PushLimiter.Key(username: request.user, resource: resource), joinKey: joinKey, waiters: [],
            numberMatching: numberMatching, claimable: true, deliverable: false, resource: resource)
        guard state.withLock({ state in
            guard !state.closed else { return false }
            state.add(pending)
            return true
        })
        else { return .refused(.cancelled) }
        let shared = SharedPush(
            message: request, devicePublicKey: device.publicKey, webAuthn: device.webAuthn, resource: resource, joinKey: joinKey,
            numberMatching: numberMatching)
        let publication: PushPublication
        do {
            publication = try await cluster.publish(shared, limit: limit, now: clock.now())
        } catch {
            // The store is out of reach: the push still goes to the device's polls on this node.
            publication = .created
        }
        switch publication {
        case .created:
            deliver(request.id, user: request.user, resource: resource)
            return .out(request.id)
        case .joined(let existing):
            withdraw(request.id)
            adopt(existing)
            return .joined(existing.message.id)
        case .limited:
            withdraw(request.id)
            return .refused(.limited)
        }
    }

    /// A kept push goes out: to the device's open polls here (other nodes hear of it from the cluster).
    private func deliver(_ pushID: String, user: String, resource: Resource) {
        let (message, polls): (PushMessage?, [DeviceWaiter]) = state.withLock { state in
            guard let message = state.pending[pushID]?.message else { return (nil, []) }
            state.pending[pushID]!.deliverable = true
            if let joinKey = state.pending[pushID]!.joinKey { state.byJoinKey[joinKey] = pushID }
            return (message, state.deviceWaiters.removeValue(forKey: message.deviceID) ?? [])
        }
        guard let message else { return }
        for poll in polls { poll.continuation.resume(returning: [message]) }
        notifier?.pushCreated(user: user, resource: resource)
        notifyWatchers()
    }

    /// A kept push the cluster did not take (joined or limited): gone without a trace.
    private func withdraw(_ pushID: String) {
        _ = state.withLock { $0.remove(pushID) }
        notifyWatchers()
    }

    /// Another node's push: kept here so this node's device polls get it, its answers here resolve it, and the same
    /// attempt arriving here joins it. Nothing when known already.
    private func adopt(_ shared: SharedPush) {
        let now = clock.now()
        let polls: [DeviceWaiter] = state.withLock { state in
            let id = shared.message.id
            guard !state.closed, state.pending[id] == nil, !state.recentlyResolved.contains(id), shared.outcome == nil,
                Double(shared.message.expires) > now.timeIntervalSince1970
            else { return [] }
            state.add(
                Pending(
                    message: shared.message, devicePublicKey: shared.devicePublicKey, webAuthn: shared.webAuthn,
                    limiterKey: PushLimiter.Key(username: shared.message.user, resource: shared.resource), joinKey: shared.joinKey,
                    waiters: [], numberMatching: shared.numberMatching, claimable: shared.numberMatching, remote: true,
                    resource: shared.resource))
            if let joinKey = shared.joinKey { state.byJoinKey[joinKey] = id }
            return state.deviceWaiters.removeValue(forKey: shared.message.deviceID) ?? []
        }
        for poll in polls { poll.continuation.resume(returning: [shared.message]) }
        notifyWatchers()
    }

    /// The outcome of a push this node keeps: waits while it is pending; at once when it was claimable and resolved.
    private func wait(on pushID: String, created: Bool) async -> Result {
        await withCheckedContinuation { (continuation: CheckedContinuation<Result, Never>) in
            let known: Result? = state.withLock { state in
                if state.pending[pushID] != nil {
                    state.pending[pushID]!.waiters.append(Waiter(continuation: continuation, created: created))
                    return nil
                }
                guard let unclaimed = state.unclaimed.removeValue(forKey: pushID) else {
                    return Result(outcome: .timedOut, pushID: pushID, created: false)
                }
                return Result(outcome: unclaimed.outcome, pushID: pushID, created: created, number: unclaimed.number)
            }
            if let known { continuation.resume(returning: known) } else { notifyWatchers() }
        }
    }

    /// The limiter's settings in force: the console's, else the configuration's.
    private func currentLimit() async -> PushLimiter.Settings {
        guard let settings else { return limiterSettings }
        return await settings.current().pushLimit
    }

    /// Number matching: pushes to `device` without waiting; the login answers with a challenge at once, and its
    /// response claims the outcome (`claim`). Returns the push's id, or nil when the limiter refused it.
    public func pushForNumber(
        username: String, device: EnrolledDevice, resource: Resource, clientAddress: String, callingStationID: String? = nil
    ) async -> String? {
        let request = signedRequest(
            username: username, device: device, resource: resource, clientAddress: clientAddress, callingStationID: callingStationID)
        let limit = await currentLimit()
        guard let cluster else {
            return register(request, device: device, resource: resource, joinKey: nil, limit: limit, continuation: nil) ? request.id : nil
        }
        // Shared like any push; nobody waits here: the challenge response claims it, on whichever node it arrives.
        switch await share(request, device: device, resource: resource, joinKey: nil, numberMatching: true, limit: limit, cluster) {
        case .out(let pushID), .joined(let pushID): return pushID
        case .refused: return nil
        }
    }

    /// The outcome of a number-matching push and, when approved, the number the device showed; waits while the push
    /// is pending. A push unknown here (claimed already, or long expired) has timed out; in a cluster, one made on
    /// another node that this node has not heard of yet is asked for.
    public func claim(pushID: String) async -> (outcome: Outcome, number: String?) {
        if let cluster, !knows(pushID), let shared = try? await cluster.push(id: pushID) {
            if let outcome = shared.outcome { return (outcome, shared.number) }
            adopt(shared)
        }
        return await wait(on: pushID, created: false).numberOutcome
    }

    private func knows(_ pushID: String) -> Bool {
        state.withLock { $0.pending[pushID] != nil || $0.unclaimed[pushID] != nil }
    }

    /// The same attempt again (same join key) while its push is pending: joined at once, when it arrives, so that it
    /// gets that push's outcome even if the push is answered before this attempt's task runs. Nil: nothing to join.
    public func joinPending(joinKey: String) -> PushJoin? {
        let join: PushJoin? = state.withLock { state in
            guard let existing = state.byJoinKey[joinKey], state.pending[existing] != nil else { return nil }
            let join = PushJoin()
            state.pending[existing]!.joiners.append(join)
            return join
        }
        if join != nil { notifyWatchers() }
        return join
    }

    @inline(never)
    private func signedRequest(
        username: String, device: EnrolledDevice, resource: Resource, clientAddress: String, callingStationID: String?
    ) -> PushMessage {
        let now = clock.now()
        let id = SecureRandom.bytes(16).map { String(format: "%02x", $0) }.joined()
        var message = PushMessage(
            id: id, deviceID: device.id, user: username, resourceKind: resource.kind.rawValue, resourceName: resource.name,
            clientAddress: clientAddress, created: Int64(now.timeIntervalSince1970),
            expires: Int64(now.addingTimeInterval(timeout).timeIntervalSince1970), nonce: Data(SecureRandom.bytes(16)).base64EncodedString(),
            callingStationID: callingStationID)
        message.signature = (try? DeviceCrypto.sign(SignedMessage.pushRequest(message), with: signingKey)) ?? ""
        return message
    }

    /// Joins a pending push with the same `joinKey`, or admits a new one (the limiter) and hands it to the device's
    /// open polls; `continuation` gets the outcome (none: a number-matching push, claimed later). False when no push
    /// went out.
    @inline(never)
    @discardableResult
    private func register(
        _ signed: PushMessage, device: EnrolledDevice, resource: Resource, joinKey: String?, limit: PushLimiter.Settings,
        continuation: CheckedContinuation<Result, Never>?
    ) -> Bool {
        let id = signed.id
        let limiterKey = PushLimiter.Key(username: signed.user, resource: resource)
        let now = clock.now()
        let (polls, created): ([DeviceWaiter], Bool) = state.withLock { state in
            if state.closed {
                continuation?.resume(returning: Result(outcome: .cancelled, pushID: nil, created: false))
                return ([], false)
            }
            if let continuation, let joinKey, let existing = state.byJoinKey[joinKey], state.pending[existing] != nil {
                state.pending[existing]!.waiters.append(Waiter(continuation: continuation, created: false))
                return ([], false)
            }
            state.limiter.settings = limit
            guard state.limiter.admit(limiterKey, pushID: id, now: now) else {
                continuation?.resume(returning: Result(outcome: .limited, pushID: nil, created: false))
                return ([], false)
            }
            var pending = Pending(
                message: signed, devicePublicKey: device.publicKey, webAuthn: device.webAuthn, limiterKey: limiterKey, joinKey: joinKey,
                waiters: continuation.map { [Waiter(continuation: $0, created: true)] } ?? [], resource: resource)
            pending.numberMatching = continuation == nil
            pending.claimable = continuation == nil
            state.add(pending)
            if let joinKey { state.byJoinKey[joinKey] = id }
            return (state.deviceWaiters.removeValue(forKey: device.id) ?? [], true)
        }
        for poll in polls { poll.continuation.resume(returning: [signed]) }
        if created { notifier?.pushCreated(user: signed.user, resource: resource) }
        notifyWatchers()
        return created
    }

    // MARK: Devices

    /// The pushes waiting for this device; when there are none, waits up to `wait` for one.
    public func pushes(forDevice deviceID: String, wait: Duration) async -> [PushMessage] {
        let token: UInt64 = state.withLock { state in
            state.nextToken += 1
            return state.nextToken
        }
        let now = clock.now()
        let (immediate, announce) = state.withLock { state in
            state.deviceLastSeen[deviceID] = now
            let announce = cluster != nil && Self.isStale(state.deviceAnnounced[deviceID], after: Self.announceInterval, now: now)
            if announce { state.deviceAnnounced[deviceID] = now }
            return (state.pushes(forDevice: deviceID), announce)
        }
        if announce, let cluster { Task { try? await cluster.announceDevice(deviceID) } }
        guard immediate.isEmpty, wait > .zero else { return immediate }

        let delivered = await withTaskGroup(of: [PushMessage]?.self) { group in
            group.addTask {
                await withTaskCancellationHandler {
                    await withCheckedContinuation { continuation in
                        // A push created since the first look is returned at once rather than missed.
                        let arrived: [PushMessage]? = self.state.withLock { state in
                            guard !Task.isCancelled, !state.closed else { return [] }
                            let arrived = state.pushes(forDevice: deviceID)
                            guard arrived.isEmpty else { return arrived }
                            state.deviceWaiters[deviceID, default: []].append(DeviceWaiter(token: token, continuation: continuation))
                            return nil
                        }
                        if let arrived { continuation.resume(returning: arrived) }
                    }
                } onCancel: {
                    self.removeWaiter(deviceID: deviceID, token: token)?.continuation.resume(returning: [])
                }
            }
            group.addTask {
                try? await Task.sleep(for: wait)
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first ?? []
        }
        state.withLock { $0.deviceLastSeen[deviceID] = clock.now() }
        return delivered
    }

    private func removeWaiter(deviceID: String, token: UInt64) -> DeviceWaiter? {
        state.withLock { state in
            guard var waiters = state.deviceWaiters[deviceID], let index = waiters.firstIndex(where: { $0.token == token }) else {
                return nil
            }
            let waiter = waiters.remove(at: index)
            state.deviceWaiters[deviceID] = waiters.isEmpty ? nil : waiters
            return waiter
        }
    }

    /// A device is connected while it holds a poll open, or has just ended one; in a cluster, also while another
    /// node says it polls there.
    public func isConnected(deviceID: String) -> Bool {
        let now = clock.now()
        return state.withLock { state in
            if state.deviceWaiters[deviceID] != nil { return true }
            if let elsewhere = state.deviceSeenElsewhere[deviceID], now.timeIntervalSince(elsewhere) < Self.presenceLifetime {
                return true
            }
            guard let seen = state.deviceLastSeen[deviceID] else { return false }
            return now.timeIntervalSince(seen) < Self.reconnectGrace
        }
    }

    /// True when `last` is nil or at least `interval` before `now`.
    private static func isStale(_ last: Date?, after interval: TimeInterval, now: Date) -> Bool {
        last.map { now.timeIntervalSince($0) >= interval } ?? true
    }

    /// What an accepted answer gives the device: the push, and for an approved number-matching push the number to
    /// show the user.
    public struct AnswerReceipt: Sendable {
        public var push: PushMessage
        public var number: String?
    }

    /// Takes a device's signed answer. The first valid answer wins; an answer for an unknown, already answered or
    /// expired push, from another device, or with a signature that does not verify is refused; under user
    /// verification, so is one without a valid WebAuthn assertion over `SignedMessage.userVerificationChallenge`.
    @discardableResult
    public func answer(
        pushID: String, decision: PushDecision, signature: String, deviceID: String, webAuthn: WebAuthnAssertion? = nil
    ) async throws(AnswerRefusal) -> AnswerReceipt {
        let now = clock.now()
        guard let snapshot = state.withLock({ $0.pending[pushID] }), snapshot.deliverable else { throw .unknownPush }
        guard snapshot.message.deviceID == deviceID else { throw .wrongDevice }
        guard Double(snapshot.message.expires) > now.timeIntervalSince1970 else { throw .expired }
        let signed = SignedMessage.pushAnswer(pushID: pushID, nonce: snapshot.message.nonce, decision: decision, deviceID: deviceID)
        guard DeviceCrypto.verify(signature, of: signed, publicKey: snapshot.devicePublicKey) else { throw .badSignature }
        if let userVerification {
            guard let credential = snapshot.webAuthn else { throw .userVerificationRequired }
            let challenge = SignedMessage.userVerificationChallenge(
                pushID: pushID, nonce: snapshot.message.nonce, decision: decision, deviceID: deviceID)
            guard let webAuthn, (try? userVerification.verify(webAuthn, challenge: challenge, credential: credential)) != nil
            else { throw .userNotVerified }
        }
        // Only one of two racing valid answers finds it still pending. Three digits from the CSPRNG: one guess in a
        // thousand, and the State it goes with is single-use.
        let number = snapshot.numberMatching && decision == .approve ? Self.randomNumber() : nil
        let outcome: Outcome = decision == .approve ? .approved : .denied
        // In a cluster the store says which answer was first, whichever node each came through. Out of reach: this
        // node decides, as a single node would.
        if let cluster, (try? await cluster.resolve(pushID: pushID, outcome: outcome, number: number)) == false {
            throw .unknownPush
        }
        guard let resolved = resolve(pushID, with: outcome, number: number) else { throw .unknownPush }
        return AnswerReceipt(push: resolved, number: number)
    }

    static func randomNumber() -> String {
        var generator = SystemRandomNumberGenerator()
        let value = Int.random(in: 0..<1000, using: &generator)
        return String(repeating: "0", count: value < 10 ? 2 : value < 100 ? 1 : 0) + String(value)
    }

    // MARK: The cluster

    /// Keeps this node's view of the cluster's pushes as long as the gateway runs: adopts other nodes' new pushes and
    /// resolves those answered, timed out or cancelled elsewhere. Returns at once on a single node.
    public func follow() async {
        guard let cluster else { return }
        for await change in cluster.changes() {
            switch change {
            case .created(let shared):
                adopt(shared)
            case .resolved(let pushID, let outcome, let number):
                resolve(pushID, with: outcome, number: number)
            case .resynchronize:
                await resynchronize(cluster)
            case .deviceSeen(let deviceID):
                let now = clock.now()
                state.withLock { state in
                    state.deviceSeenElsewhere[deviceID] = now
                    // Bounded by the devices polling anywhere: the stale go when the map is large.
                    if state.deviceSeenElsewhere.count > 100_000 {
                        state.deviceSeenElsewhere = state.deviceSeenElsewhere.filter { now.timeIntervalSince($0.value) < Self.presenceLifetime }
                    }
                }
                notifyWatchers()
            }
        }
    }

    /// After the feed was down: what is pending is read again, and what this node keeps that was resolved meanwhile
    /// gets its outcome.
    private func resynchronize(_ cluster: any PushCluster) async {
        guard let pending = try? await cluster.pendingPushes(now: clock.now()) else { return }
        for shared in pending { adopt(shared) }
        let stillPending = Set(pending.map(\.message.id))
        let missed = state.withLock { state in
            state.pending.values.filter { $0.deliverable && !stillPending.contains($0.message.id) }.map(\.message.id)
        }
        for id in missed {
            if let shared = try? await cluster.push(id: id), let outcome = shared.outcome {
                resolve(id, with: outcome, number: shared.number)
            }
        }
    }

    // MARK: Expiry and shutdown

    /// Resolves every push whose time is up as timed out. Run about once a second (`PushExpiryService`), or by tests.
    public func expire(now: Date) {
        let due = state.withLock { state in
            state.pending.values.filter { Double($0.message.expires) <= now.timeIntervalSince1970 }.map(\.message.id)
        }
        for id in due { resolve(id, with: .timedOut) }
        tellCluster(due, .timedOut)
    }

    /// Outcomes this node decided alone (timeouts, shutdown) told to the cluster, on their own time: every node
    /// times a push out by itself anyway.
    private func tellCluster(_ pushIDs: [String], _ outcome: Outcome) {
        guard let cluster, !pushIDs.isEmpty else { return }
        Task { for id in pushIDs { _ = try? await cluster.resolve(pushID: id, outcome: outcome, number: nil) } }
    }

    /// Shutdown: answers every waiting login (they get their reject now rather than never), ends every open
    /// device poll, and refuses new pushes.
    public func cancelAll() {
        let (ids, own, polls) = state.withLock { state in
            state.closed = true
            defer { state.deviceWaiters = [:] }
            // Another node's pushes stay pending there: only this node's logins stop waiting for them.
            return (
                Array(state.pending.keys), state.pending.values.filter { !$0.remote }.map(\.message.id),
                state.deviceWaiters.values.flatMap { $0 }
            )
        }
        for id in ids { resolve(id, with: .cancelled) }
        tellCluster(own, .cancelled)
        for poll in polls { poll.continuation.resume(returning: []) }
    }

    public var pendingCount: Int { state.withLock { $0.pending.count } }

    /// Logins on this node waiting for a push (joined ones included).
    public var waitingLoginCount: Int { state.withLock { $0.pending.values.reduce(0) { $0 + $1.waiters.count + $1.joiners.count } } }

    @discardableResult
    private func resolve(_ pushID: String, with outcome: Outcome, number: String? = nil) -> PushMessage? {
        let now = clock.now()
        guard
            let pending = state.withLock({ state -> Pending? in
                guard let pending = state.remove(pushID) else { return nil }
                if cluster != nil { state.recentlyResolved.insert(pushID) }
                if let joinKey = pending.joinKey, state.byJoinKey[joinKey] == pushID { state.byJoinKey[joinKey] = nil }
                state.limiter.release(pending.limiterKey, pushID: pushID)
                if pending.claimable, pending.waiters.isEmpty {
                    // Nobody has claimed it yet: kept for the challenge response, as long as its State lives.
                    state.unclaimed = state.unclaimed.filter { $0.value.expires > now }
                    state.unclaimed[pushID] = Unclaimed(outcome: outcome, number: number, expires: now.addingTimeInterval(Self.claimLifetime))
                }
                return pending
            })
        else { return nil }
        for waiter in pending.waiters {
            waiter.continuation.resume(returning: Result(outcome: outcome, pushID: pushID, created: waiter.created, number: number))
        }
        for join in pending.joiners { join.resolve(Result(outcome: outcome, pushID: pushID, created: false)) }
        notifyWatchers()
        return pending.message
    }

    /// Returns once `condition` holds for the pending pushes: lets tests and metrics follow the coordinator
    /// without polling.
    public func waitUntil(_ condition: @escaping @Sendable (Snapshot) -> Bool) async {
        await withCheckedContinuation { continuation in
            let holds = state.withLock { state in
                if condition(state.snapshot) { return true }
                state.watchers.append((condition, continuation))
                return false
            }
            if holds { continuation.resume() }
        }
    }

    private func notifyWatchers() {
        let ready = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            // The snapshot copies every pending push: only when someone watches.
            guard !state.watchers.isEmpty else { return [] }
            let snapshot = state.snapshot
            var ready: [CheckedContinuation<Void, Never>] = []
            state.watchers.removeAll { watcher in
                guard watcher.condition(snapshot) else { return false }
                ready.append(watcher.continuation)
                return true
            }
            return ready
        }
        for continuation in ready { continuation.resume() }
    }
}

/// Told of each new push (not of logins that join one): a nudge for the user, such as a webhook. Must return at once;
/// whatever it sends goes out on its own time.
public protocol PushNotifier: Sendable {
    func pushCreated(user: String, resource: Resource)
}

/// An attempt joined to a pending push on arrival: holds the push's outcome until the attempt asks for it.
public final class PushJoin: Sendable {
    private enum State {
        case pending(CheckedContinuation<PushCoordinator.Result, Never>?)
        case resolved(PushCoordinator.Result)
    }

    private let state = Locked(State.pending(nil))

    func resolve(_ result: PushCoordinator.Result) {
        let waiting: CheckedContinuation<PushCoordinator.Result, Never>? = state.withLock { state in
            guard case .pending(let waiting) = state else { return nil }
            state = .resolved(result)
            return waiting
        }
        waiting?.resume(returning: result)
    }

    /// The joined push's outcome, at once when it is known.
    public func result() async -> PushCoordinator.Result {
        await withCheckedContinuation { continuation in
            let known: PushCoordinator.Result? = state.withLock { state in
                switch state {
                case .resolved(let result): return result
                case .pending: state = .pending(continuation); return nil
                }
            }
            if let known { continuation.resume(returning: known) }
        }
    }
}

/// The last `capacity` ids inserted, oldest forgotten first.
struct RecentIDs {
    private var members: Set<String> = []
    private var order: [String] = []
    private var next = 0
    let capacity: Int

    init(capacity: Int) { self.capacity = capacity }

    func contains(_ id: String) -> Bool { members.contains(id) }

    mutating func insert(_ id: String) {
        guard members.insert(id).inserted else { return }
        if order.count < capacity {
            order.append(id)
        } else {
            members.remove(order[next])
            order[next] = id
            next = (next + 1) % capacity
        }
    }
}
