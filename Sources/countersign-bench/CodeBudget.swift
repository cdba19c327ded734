import Foundation
import MFACore

/// Which TOTP step each user may use next, so that every code is sent once: Countersign refuses a code whose step
/// is not after the user's last accepted one, and a generator that replayed codes would measure rejects.
/// Offsets are steps relative to now (`0,1` for Countersign's drift window; a server that only accepts the current
/// step gets `0`). With `--state` the last steps survive between runs against the same server.
final class CodeBudget: @unchecked Sendable {
    // One slot per user, written only by the worker thread that owns the user (users are dealt out by index).
    private let lastStep: UnsafeMutableBufferPointer<Int64>
    private let offsets: [Int64]
    private let statePath: String?
    static let period: Int64 = 30

    init(users: Int, offsets: [Int64], statePath: String?) throws {
        self.offsets = offsets.sorted()
        self.statePath = statePath
        lastStep = .allocate(capacity: users)
        lastStep.initialize(repeating: Int64.min)
        if let statePath, let data = FileManager.default.contents(atPath: statePath) {
            guard data.count == users * 8 else {
                throw BenchError("\(statePath) is for \(data.count / 8) users, not \(users); delete it or pass another")
            }
            data.withUnsafeBytes { raw in
                for index in 0..<users { lastStep[index] = Int64(littleEndian: raw.loadUnaligned(fromByteOffset: index * 8, as: Int64.self)) }
            }
        }
    }

    deinit { lastStep.deallocate() }

    static func currentStep() -> Int64 { Int64(Date().timeIntervalSince1970) / period }

    /// The next unused step for `user` within the offsets around `now`, marked used; nil when the user has none left.
    func takeStep(user: Int, now: Int64) -> Int64? {
        for offset in offsets where now + offset > lastStep[user] {
            lastStep[user] = now + offset
            return now + offset
        }
        return nil
    }

    func save() throws {
        guard let statePath else { return }
        var data = Data(capacity: lastStep.count * 8)
        for step in lastStep { withUnsafeBytes(of: step.littleEndian) { data.append(contentsOf: $0) } }
        try data.write(to: URL(fileURLWithPath: statePath), options: .atomic)
    }
}

/// One worker's walk over its share of the users: every `stride`-th from `first`, so workers never share a user.
struct UserShare {
    let first: Int
    let stride: Int
    private var cursor: Int

    init(first: Int, stride: Int) {
        self.first = first
        self.stride = stride
        cursor = first
    }

    /// The next user in the share, each once; nil after the last.
    mutating func nextOnce(count: Int) -> Int? {
        guard cursor < count else { return nil }
        defer { cursor += stride }
        return cursor
    }

    /// The next user in the share, round and round (binds without a code can repeat a user).
    mutating func nextAround(count: Int) -> Int {
        if cursor >= count { cursor = first }
        defer { cursor += stride }
        return cursor
    }

    /// The next user that still has a fresh code, round and round, and that code; nil when none has one left.
    mutating func nextCode(users: BenchUsers, budget: CodeBudget) -> (user: Int, code: [UInt8])? {
        let now = CodeBudget.currentStep()
        var tried = 0
        while tried < users.count {
            if cursor >= users.count { cursor = first }
            let user = cursor
            cursor += stride
            tried += stride
            guard let step = budget.takeStep(user: user, now: now) else { continue }
            return (user, Array(OneTimeCode.hotp(secret: users.secrets[user], counter: UInt64(step), digits: 6).utf8))
        }
        return nil
    }
}
