import Crypto
import Foundation

/// Outstanding challenges (RADIUS State). Each State is random, single-use, bound to the user, the resource and the
/// client address, and expires. Kept by a `ChallengeStore`: in memory on a single node (after a restart no State is
/// valid, which refuses every old one), in the shared database in a cluster (issued on one node, taken on any).
public final class ChallengeBook: Sendable {
    public struct Binding: Sendable, Hashable {
        public var username: String
        public var resource: Resource
        public var clientAddress: String

        public init(username: String, resource: Resource, clientAddress: String) {
            self.username = username
            self.resource = resource
            self.clientAddress = clientAddress
        }

        /// The user, resource and client address of `attempt`.
        public init(_ attempt: LoginAttempt) {
            self.init(username: attempt.username, resource: attempt.resource, clientAddress: attempt.clientAddress)
        }
    }

    /// What a redeemed State was issued for, and what the primary check had granted before it.
    public struct Redemption: Sendable, Equatable {
        public enum Answer: Sendable, Equatable {
            /// A TOTP code.
            case code
            /// The number the device showed after approving this push (number matching).
            case number(pushID: String)
            /// The primary check's own question (`PrimaryVerdict.challenge`), with the State it gave.
            case primary(state: [UInt8])
        }

        public var answer: Answer
        public var grant: Grant
    }

    public static let stateByteCount = 16
    public let lifetime: TimeInterval
    /// Caps the store's challenges under a flood of password-only requests.
    public let capacity: Int
    public let store: any ChallengeStore

    public init(lifetime: TimeInterval = 300, capacity: Int = 100_000, store: any ChallengeStore = MemoryChallengeStore()) {
        self.lifetime = lifetime
        self.capacity = capacity
        self.store = store
    }

    /// A new State, or nil when the store is full of unexpired challenges. `pushID`: the push whose number answers it;
    /// `primaryState`: the primary check's question that the answer goes back to; `grant`: what the primary granted.
    public func issue(
        for binding: Binding, now: Date, pushID: String? = nil, primaryState: [UInt8]? = nil, grant: Grant = Grant()
    ) async throws -> [UInt8]? {
        let state = SecureRandom.bytes(Self.stateByteCount)
        let challenge = StoredChallenge(
            username: binding.username, resource: binding.resource, clientAddress: binding.clientAddress,
            expires: now.addingTimeInterval(lifetime), pushID: pushID, grant: grant, primaryState: primaryState)
        return try await store.issueChallenge(stateHash: Self.hash(state), challenge, capacity: capacity, now: now) ? state : nil
    }

    /// What `state` was issued for, when it was issued for this binding and has not expired; nil otherwise. The
    /// State is used up either way.
    public func redeem(_ state: [UInt8], for binding: Binding, now: Date) async throws -> Redemption? {
        guard let challenge = try await store.takeChallenge(stateHash: Self.hash(state)),
            challenge.username == binding.username, challenge.resource == binding.resource,
            challenge.clientAddress == binding.clientAddress, now < challenge.expires
        else { return nil }
        let answer: Redemption.Answer =
            if let pushID = challenge.pushID { .number(pushID: pushID) } else if let primary = challenge.primaryState {
                .primary(state: primary)
            } else { .code }
        return Redemption(answer: answer, grant: challenge.grant)
    }

    /// The store keeps the State's hash: a State is a bearer token until it is used.
    static func hash(_ state: [UInt8]) -> [UInt8] {
        Array(SHA256.hash(data: state))
    }
}

/// A single node's challenges, in memory.
public final class MemoryChallengeStore: ChallengeStore {
    private let entries = Locked<[[UInt8]: StoredChallenge]>([:])

    public init() {}

    public func issueChallenge(stateHash: [UInt8], _ challenge: StoredChallenge, capacity: Int, now: Date) -> Bool {
        entries.withLock { entries in
            if entries.count >= capacity {
                entries = entries.filter { $0.value.expires > now }
                if entries.count >= capacity { return false }
            }
            entries[stateHash] = challenge
            return true
        }
    }

    public func takeChallenge(stateHash: [UInt8]) -> StoredChallenge? {
        entries.withLock { $0.removeValue(forKey: stateHash) }
    }

    public var count: Int { entries.withLock { $0.count } }
}
