import ArgumentParser
import Foundation
import MFACore
import RADIUSCodec
import Synchronization

enum RADIUSWorkload: String, ExpressibleByArgument, CaseIterable, Sendable {
    /// User-Password is a fresh TOTP code (a second-factor-only client; what rlm_totp checks).
    case totp
    /// User-Password is the password, the delimiter and a fresh code.
    case password
    /// Status-Server (RFC 5997), answered with Access-Accept.
    case status
    /// User-Password is "push": each user once, the reply comes when the device answers.
    case push
    /// A misbehaving NAS: unknown users (a fresh name each time) with a wrong password; every reply is a reject,
    /// every request costs the server a password hash.
    case flood
}

struct RADIUSLoadPlan: Sendable {
    var server: (host: String, port: UInt16)
    var source = "0.0.0.0"
    var secret: [UInt8]
    var workload: RADIUSWorkload
    var concurrency: Int
    var requests: Int
    /// Requests per second over the whole run; 0 sends as fast as the concurrency allows (closed loop).
    var rate: Double = 0
    var threads = 1
    var timeoutSeconds: Double = 2
    var messageAuthenticator = true
    var delimiter: UInt8 = UInt8(ascii: ",")
}

/// Drives a RADIUS server with `plan`, checking every reply, on `plan.threads` threads of its own (each with its own
/// sockets, users and histogram, merged at the end), so no lock is shared on the hot path but the request count.
final class RADIUSLoad: @unchecked Sendable {
    let plan: RADIUSLoadPlan
    let users: BenchUsers?
    let budget: CodeBudget?
    /// When set, each user's reply time (monotonic ns) is written at its index: the push fleet matches them to answers.
    let replyTimes: UnsafeMutableBufferPointer<UInt64>?
    fileprivate let tickets: Tickets
    fileprivate let exhaustedUsers = Atomic<Bool>(false)

    init(plan: RADIUSLoadPlan, users: BenchUsers?, budget: CodeBudget?, replyTimes: UnsafeMutableBufferPointer<UInt64>? = nil) {
        self.plan = plan
        self.users = users
        self.budget = budget
        self.replyTimes = replyTimes
        tickets = Tickets(limit: plan.requests)
    }

    /// Runs to the end (every request answered or timed out) and returns what was seen.
    func run() throws -> (counts: ReplyCounts, latency: LatencyRecorder, seconds: Double) {
        let threads = max(1, min(plan.threads, plan.concurrency))
        let workers = try (0..<threads).map { index in
            let share = plan.concurrency / threads + (index < plan.concurrency % threads ? 1 : 0)
            return try RADIUSWorker(load: self, index: index, of: threads, concurrency: share)
        }
        let start = monotonicNanoseconds()
        let done = DispatchGroup()
        for worker in workers {
            done.enter()
            let thread = Thread {
                worker.run(start: start)
                done.leave()
            }
            thread.stackSize = 1 << 20
            thread.start()
        }
        done.wait()
        let seconds = Double(workers.map(\.lastReply).max().map { $0 > start ? $0 - start : 0 } ?? 0) / 1e9
        var counts = ReplyCounts()
        var latency = LatencyRecorder()
        for worker in workers {
            counts.add(worker.counts)
            latency.add(worker.latency)
            worker.close()
        }
        if exhaustedUsers.load(ordering: .relaxed) {
            progress("note: every user's fresh codes were used; fewer requests were sent than asked (\(counts.sent))")
        }
        return (counts, latency, seconds)
    }
}

/// One thread's share: its sockets (at most `perSocket` requests outstanding on each, under RADIUS's 256
/// identifiers), its users (every `of`-th from `index`), its counts.
private final class RADIUSWorker: @unchecked Sendable {
    struct Slot {
        var sentAt: UInt64 = 0  // 0: free
        var authenticator: [UInt8] = []
        var user: Int = -1
    }

    let load: RADIUSLoad
    let stride: Int
    let concurrency: Int
    let sockets: [UDPSocket]
    var slots: [[Slot]]
    var nextIdentifier: [Int]
    var outstanding: [Int]
    var totalOutstanding = 0
    var share: UserShare
    var finishedIssuing = false
    var counts = ReplyCounts()
    var latency = LatencyRecorder()
    var lastReply: UInt64 = 0
    static let perSocket = 200

    init(load: RADIUSLoad, index: Int, of stride: Int, concurrency: Int) throws {
        self.load = load
        self.stride = stride
        self.concurrency = concurrency
        let socketCount = max(1, (concurrency + Self.perSocket - 1) / Self.perSocket)
        sockets = try (0..<socketCount).map { _ in try UDPSocket(source: load.plan.source, server: load.plan.server) }
        slots = Array(repeating: Array(repeating: Slot(), count: 256), count: socketCount)
        nextIdentifier = Array(repeating: 0, count: socketCount)
        outstanding = Array(repeating: 0, count: socketCount)
        share = UserShare(first: index, stride: stride)
    }

    func close() { sockets.forEach { $0.close() } }

    func run(start: UInt64) {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 4096, alignment: 8)
        defer { buffer.deallocate() }
        var descriptors = sockets.map { pollfd(fd: $0.descriptor, events: Int16(POLLIN), revents: 0) }
        let timeout = UInt64(load.plan.timeoutSeconds * 1e9)
        var lastScan = start
        while true {
            fill(start: start)
            if finishedIssuing && totalOutstanding == 0 { break }
            _ = poll(&descriptors, nfds_t(descriptors.count), 2)
            for socket in descriptors.indices where descriptors[socket].revents != 0 {
                while let count = sockets[socket].receive(into: buffer) {
                    handleReply(UnsafeRawBufferPointer(rebasing: buffer[0..<count]), socket: socket)
                }
            }
            let now = monotonicNanoseconds()
            if now - lastScan > 20_000_000 {
                lastScan = now
                expire(olderThan: now > timeout ? now - timeout : 0)
            }
        }
    }

    /// Sends until the concurrency (and the rate, when set) is reached or the run's requests are all issued.
    private func fill(start: UInt64) {
        let plan = load.plan
        while !finishedIssuing && totalOutstanding < concurrency {
            if plan.rate > 0 {
                let allowed = plan.rate / Double(stride) * Double(monotonicNanoseconds() - start) / 1e9
                if Double(counts.sent) >= allowed { return }
            }
            guard load.tickets.take() else {
                finishedIssuing = true
                return
            }
            guard let socket = outstanding.indices.min(by: { outstanding[$0] < outstanding[$1] }),
                send(on: socket)
            else {
                finishedIssuing = true
                return
            }
        }
    }

    /// Builds and sends the next request on `socket`; false when no user has a fresh code left.
    private func send(on socket: Int) -> Bool {
        let plan = load.plan
        var identifier = nextIdentifier[socket]
        while slots[socket][identifier].sentAt != 0 { identifier = (identifier + 1) & 0xFF }
        nextIdentifier[socket] = (identifier + 1) & 0xFF
        var authenticator = [UInt8](repeating: 0, count: 16)
        var random = SystemRandomNumberGenerator()
        for offset in Swift.stride(from: 0, to: 16, by: 8) {
            withUnsafeBytes(of: random.next() as UInt64) { authenticator.replaceSubrange(offset..<offset + 8, with: $0) }
        }
        var attributes = [RADIUSAttribute(type: .nasIdentifier, string: "countersign-bench")]
        var user = -1
        if plan.workload == .flood {
            attributes.append(RADIUSAttribute(type: .userName, string: "flood-\(random.next() as UInt64)"))
            attributes.append(
                RADIUSAttribute(
                    type: .userPassword,
                    value: RADIUSUserPassword.hide(Array("wrong-password".utf8), secret: plan.secret, requestAuthenticator: authenticator)))
        } else if plan.workload != .status {
            guard let users = load.users, let (chosen, password) = nextSecret(users) else {
                load.exhaustedUsers.store(true, ordering: .relaxed)
                return false
            }
            user = chosen
            attributes.append(RADIUSAttribute(type: .userName, value: users.names[user]))
            attributes.append(
                RADIUSAttribute(
                    type: .userPassword,
                    value: RADIUSUserPassword.hide(password, secret: plan.secret, requestAuthenticator: authenticator)))
        }
        let packet = RADIUSPacket.encodeRequest(
            code: plan.workload == .status ? .statusServer : .accessRequest, identifier: UInt8(identifier),
            authenticator: authenticator, attributes: attributes, secret: plan.secret,
            messageAuthenticator: plan.messageAuthenticator || plan.workload == .status)
        slots[socket][identifier] = Slot(sentAt: monotonicNanoseconds(), authenticator: authenticator, user: user)
        outstanding[socket] += 1
        totalOutstanding += 1
        counts.sent += 1
        sockets[socket].send(packet)
        return true
    }

    /// The next user of this worker's share and what goes in User-Password.
    private func nextSecret(_ users: BenchUsers) -> (Int, [UInt8])? {
        let plan = load.plan
        if plan.workload == .push {
            return share.nextOnce(count: users.count).map { ($0, Array("push".utf8)) }
        }
        guard let budget = load.budget, let (user, code) = share.nextCode(users: users, budget: budget) else { return nil }
        return (user, plan.workload == .password ? users.passwords[user] + [plan.delimiter] + code : code)
    }

    private func handleReply(_ reply: UnsafeRawBufferPointer, socket: Int) {
        let now = monotonicNanoseconds()
        guard reply.count >= 20 else {
            counts.wrong += 1
            return
        }
        let identifier = Int(reply[1])
        let slot = slots[socket][identifier]
        // A reply to a request already counted lost (or to nothing sent): not this run's to judge.
        guard slot.sentAt != 0 else { return }
        slots[socket][identifier].sentAt = 0
        outstanding[socket] -= 1
        totalOutstanding -= 1
        lastReply = now
        latency.record(nanoseconds: now - slot.sentAt)
        let bytes = UnsafeBufferPointer(start: reply.baseAddress!.assumingMemoryBound(to: UInt8.self), count: reply.count)
        let secret = load.plan.secret
        let authentic =
            RADIUSAuthenticators.verifyResponseAuthenticator(raw: bytes, requestAuthenticator: slot.authenticator, secret: secret)
            && RADIUSAuthenticators.checkReplyMessageAuthenticator(raw: bytes, requestAuthenticator: slot.authenticator, secret: secret)
                != .invalid
        // The expected code: Access-Reject for a flood of wrong passwords, Access-Accept for everything else.
        let expected = load.plan.workload == .flood ? RADIUSCode.accessReject : .accessAccept
        if authentic && reply[0] == expected.rawValue {
            counts.accepted += 1
            if slot.user >= 0, let replyTimes = load.replyTimes { replyTimes[slot.user] = now }
        } else {
            counts.wrong += 1
        }
    }

    private func expire(olderThan deadline: UInt64) {
        for socket in slots.indices where outstanding[socket] > 0 {
            for identifier in 0..<256 where slots[socket][identifier].sentAt != 0 && slots[socket][identifier].sentAt < deadline {
                slots[socket][identifier].sentAt = 0
                outstanding[socket] -= 1
                totalOutstanding -= 1
                counts.lost += 1
            }
        }
    }
}
