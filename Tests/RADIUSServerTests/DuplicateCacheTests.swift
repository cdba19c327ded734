import NIOCore
import Testing

@testable import RADIUSServer

@Suite struct DuplicateCacheTests {
    let start = NIODeadline.uptimeNanoseconds(1_000_000_000)

    func key(_ port: Int, _ identifier: UInt8 = 1) -> DuplicateCache.Key {
        .init(sourceAddress: [127, 0, 0, 1], sourcePort: port, identifier: identifier)
    }

    @Test func theInProgressLimitIsPerClient() {
        var cache = DuplicateCache(lifetime: .seconds(30), capacity: 100, maximumInProgress: 3)
        for port in 0..<3 { #expect(cache.requestReceived(key(port), authenticator: [1], client: 0, now: start) == .new) }
        #expect(cache.requestReceived(key(3), authenticator: [1], client: 0, now: start) == .dropOverloaded)
        // Another client still gets in.
        #expect(cache.requestReceived(key(10), authenticator: [1], client: 1, now: start) == .new)
        cache.replySent(key(0), authenticator: [1], reply: [9], now: start)
        #expect(cache.requestReceived(key(3), authenticator: [1], client: 0, now: start) == .new)
    }

    @Test func theCapacityIsPerClientAndAnswersExpireInOrder() {
        var cache = DuplicateCache(lifetime: .seconds(30), capacity: 3, maximumInProgress: 100)
        for port in 0..<3 {
            #expect(cache.requestReceived(key(port), authenticator: [1], client: 0, now: start) == .new)
            cache.replySent(key(port), authenticator: [1], reply: [UInt8(port)], now: start + .seconds(Int64(port)))
        }
        #expect(cache.requestReceived(key(3), authenticator: [1], client: 0, now: start) == .dropOverloaded)
        #expect(cache.requestReceived(key(20), authenticator: [1], client: 1, now: start) == .new)
        // The first answer expires after its 30 s: room for one more of client 0, the others still answered.
        let later = start + .seconds(30)
        #expect(cache.requestReceived(key(3), authenticator: [1], client: 0, now: later) == .new)
        #expect(cache.requestReceived(key(1), authenticator: [1], client: 0, now: later) == .resend([1]))
        #expect(cache.count == 4)
    }

    @Test func aNewAuthenticatorOnTheSameKeyIsANewRequest() {
        var cache = DuplicateCache(lifetime: .seconds(30))
        #expect(cache.requestReceived(key(1), authenticator: [1], client: 0, now: start) == .new)
        cache.replySent(key(1), authenticator: [1], reply: [5], now: start)
        #expect(cache.requestReceived(key(1), authenticator: [2], client: 0, now: start) == .new)
        #expect(cache.count == 1)
        #expect(cache.inProgress == 1)
        // The old answer's expiry does not remove the new request.
        #expect(cache.requestReceived(key(2), authenticator: [1], client: 0, now: start + .seconds(31)) == .new)
        #expect(cache.requestReceived(key(1), authenticator: [2], client: 0, now: start + .seconds(31)) == .dropInProgress)
    }

    @Test func anAbandonedRequestMayBeDecidedAgain() {
        var cache = DuplicateCache(lifetime: .seconds(30))
        #expect(cache.requestReceived(key(1), authenticator: [1], client: 0, now: start) == .new)
        cache.requestAbandoned(key(1), authenticator: [1])
        #expect(cache.count == 0)
        #expect(cache.requestReceived(key(1), authenticator: [1], client: 0, now: start) == .new)
    }
}
