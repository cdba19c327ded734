import Foundation

/// Why a request was dropped without an answer (or, `rateLimited`, refused undecided). The raw values are the
/// `reason` field of the `dropped requests` log line.
public enum DropReason: String, Error, Sendable, CaseIterable {
    case unknownClient = "unknown_client"
    case badAuthenticator = "bad_authenticator"
    case malformed
    /// More work queued or in progress for the source than it may have.
    case overloaded
    /// Waited longer than a NAS would (`radius.max_queue_wait`) before work on it began.
    case queueWait = "queue_wait"
    /// The source's failure bucket is empty.
    case rateLimited = "rate_limited"
    /// No reply fits in a packet (RFC 2865 §3: 4096 octets): the request's Proxy-State with the reply's attributes.
    case replyTooLarge = "reply_too_large"
}

/// How much login work runs at once, how much may wait per source, and for how long.
public struct FairQueueSettings: Sendable, Equatable {
    public var maximumRunning: Int
    public var maximumQueuedPerSource: Int
    public var maximumWait: TimeInterval

    public init(maximumRunning: Int, maximumQueuedPerSource: Int = 1024, maximumWait: TimeInterval = 3) {
        precondition(maximumRunning > 0 && maximumQueuedPerSource > 0)
        self.maximumRunning = maximumRunning
        self.maximumQueuedPerSource = maximumQueuedPerSource
        self.maximumWait = maximumWait
    }
}

/// Expensive login work (password hashes) from many sources, run a few at a time: each source has a queue of its
/// own and the queues are served in turn, so one source's backlog never delays another's by more than one job per
/// running slot. A job that waited longer than `maximumWait` is dropped when its turn comes (its NAS has given up;
/// RFC 2865 §2 lets a server discard), and a source with `maximumQueuedPerSource` waiting is refused more.
/// A state machine without I/O; time comes in with each event.
public struct FairQueue<Job> {
    public typealias Settings = FairQueueSettings

    public enum Action {
        case start(Job)
        case drop(Job, DropReason)
    }

    private struct Entry {
        var job: Job
        var arrived: Date
    }

    /// One source's waiting jobs, oldest first; `head` saves moving the rest on every start.
    private struct SourceQueue {
        var entries: [Entry] = []
        var head = 0
        var count: Int { entries.count - head }

        mutating func popFirst() -> Entry? {
            guard head < entries.count else { return nil }
            let entry = entries[head]
            head += 1
            if head == entries.count {
                entries.removeAll(keepingCapacity: false)
                head = 0
            } else if head >= 64, head * 2 >= entries.count {
                entries.removeFirst(head)
                head = 0
            }
            return entry
        }
    }

    public let settings: Settings
    private var queues: [String: SourceQueue] = [:]
    /// Sources with waiting jobs, in the order they are served.
    private var turns: [String] = []
    public private(set) var running = 0
    /// The longest a started job had waited since it arrived (for tests and reports).
    public private(set) var longestStartedWait: TimeInterval = 0

    public init(settings: Settings) {
        self.settings = settings
    }

    /// Jobs waiting, over all sources.
    public var queued: Int { queues.values.reduce(0) { $0 + $1.count } }

    public mutating func submit(_ job: Job, source: String, arrived: Date, now: Date) -> [Action] {
        if now.timeIntervalSince(arrived) > settings.maximumWait { return [.drop(job, .queueWait)] }
        if turns.isEmpty, running < settings.maximumRunning {
            running += 1
            longestStartedWait = max(longestStartedWait, now.timeIntervalSince(arrived))
            return [.start(job)]
        }
        var queue = queues.removeValue(forKey: source) ?? SourceQueue()
        if queue.count >= settings.maximumQueuedPerSource {
            queues[source] = queue
            return [.drop(job, .overloaded)]
        }
        if queue.count == 0 { turns.append(source) }
        queue.entries.append(Entry(job: job, arrived: arrived))
        queues[source] = queue
        return []
    }

    /// A started job is done: the next ones in turn start, and those that waited too long are dropped.
    public mutating func finished(now: Date) -> [Action] {
        precondition(running > 0, "finished without a running job")
        running -= 1
        var actions: [Action] = []
        while running < settings.maximumRunning, let entry = nextInTurn() {
            if now.timeIntervalSince(entry.arrived) > settings.maximumWait {
                actions.append(.drop(entry.job, .queueWait))
            } else {
                running += 1
                longestStartedWait = max(longestStartedWait, now.timeIntervalSince(entry.arrived))
                actions.append(.start(entry.job))
            }
        }
        return actions
    }

    /// The oldest job of the source whose turn it is; that source goes to the back of the line.
    private mutating func nextInTurn() -> Entry? {
        guard !turns.isEmpty else { return nil }
        let source = turns.removeFirst()
        guard var queue = queues.removeValue(forKey: source), let entry = queue.popFirst() else { return nextInTurn() }
        if queue.count > 0 {
            queues[source] = queue
            turns.append(source)
        }
        return entry
    }
}

/// A `FairQueue` of waiting tasks: `run` waits for the source's turn, does the work, and lets the next one start.
public final class LoginWorkQueue: Sendable {
    /// nil: start; else why it was dropped.
    private typealias Turn = CheckedContinuation<DropReason?, Never>

    public let settings: FairQueueSettings
    private let clock: any WallClock
    private let state: Locked<FairQueue<Turn>>

    public init(settings: FairQueueSettings, clock: any WallClock = SystemWallClock()) {
        self.settings = settings
        self.clock = clock
        state = Locked(FairQueue(settings: settings))
    }

    /// Runs `work` once it is `source`'s turn, or returns why it was dropped (its NAS waited too long, or too much is
    /// queued for the source). `arrived`: when the request reached the server.
    public func run<T: Sendable>(source: String, arrived: Date, _ work: () async -> T) async -> Result<T, DropReason> {
        let refusal = await withCheckedContinuation { continuation in
            let actions = state.withLock {
                $0.submit(continuation, source: source, arrived: arrived, now: clock.now())
            }
            perform(actions)
        }
        if let refusal { return .failure(refusal) }
        let result = await work()
        perform(state.withLock { $0.finished(now: clock.now()) })
        return .success(result)
    }

    /// Jobs running and waiting, and the longest any job waited before it started (for tests and reports).
    public var counts: (running: Int, queued: Int, longestStartedWait: TimeInterval) {
        state.withLock { ($0.running, $0.queued, $0.longestStartedWait) }
    }

    private func perform(_ actions: [FairQueue<Turn>.Action]) {
        for action in actions {
            switch action {
            case .start(let turn):
                turn.resume(returning: nil)
            case .drop(let turn, let reason):
                turn.resume(returning: reason)
            }
        }
    }
}
