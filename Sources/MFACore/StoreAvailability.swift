import Foundation

/// Whether the shared store answers, as the node's health check last saw it. While it does not, logins are refused
/// at once (rather than each waiting out a timeout) and Status-Server goes unanswered, so that NASes fail over to
/// another node (design.md, Scale); it comes back by itself when the store does.
public final class StoreAvailability: Sendable {
    /// What a health check changed, for the log.
    public enum Change: Sendable, Equatable {
        case lost(String)
        case recovered
        /// Still down: said again once per `reminderInterval`.
        case stillLost(String)
    }

    private struct State {
        var problem: String?
        var lastSaid: Date?
    }

    public let reminderInterval: TimeInterval
    private let state = Locked(State())

    public init(reminderInterval: TimeInterval = 60) {
        self.reminderInterval = reminderInterval
    }

    public var isAvailable: Bool { state.withLock { $0.problem == nil } }

    /// Records a health check's finding (nil: the store answered); what to log, if anything.
    public func checked(problem: String?, now: Date) -> Change? {
        state.withLock { state in
            defer { state.problem = problem }
            switch (state.problem, problem) {
            case (nil, nil):
                return nil
            case (.some, nil):
                state.lastSaid = nil
                return .recovered
            case (nil, .some(let problem)):
                state.lastSaid = now
                return .lost(problem)
            case (.some, .some(let problem)):
                guard let said = state.lastSaid, now.timeIntervalSince(said) < reminderInterval else {
                    state.lastSaid = now
                    return .stillLost(problem)
                }
                return nil
            }
        }
    }
}
