import Foundation

/// Which upstream servers to ask, in order: a server that let a request time out is skipped for `deadTime`
/// seconds, unless every server is; then all are asked again in order, so that one that came back is found.
struct UpstreamServerHealth: Sendable {
    private var deadUntil: [Date?]
    let deadTime: TimeInterval

    init(servers: Int, deadTime: TimeInterval) {
        deadUntil = Array(repeating: nil, count: servers)
        self.deadTime = deadTime
    }

    /// The servers to ask now, by index, in configuration order.
    func order(now: Date) -> [Int] {
        let alive = deadUntil.indices.filter { deadUntil[$0].map { $0 <= now } ?? true }
        return alive.isEmpty ? Array(deadUntil.indices) : alive
    }

    func isDead(_ server: Int, now: Date) -> Bool { deadUntil[server].map { $0 > now } ?? false }

    mutating func noAnswer(from server: Int, now: Date) {
        deadUntil[server] = now.addingTimeInterval(deadTime)
    }

    mutating func answered(by server: Int) {
        deadUntil[server] = nil
    }
}
