import Foundation
import Testing

@testable import MFACore

@Suite struct FailureBucketTests {
    let clock = ManualWallClock()

    func bucket(rate: Double = 1, burst: Double = 3) -> FailureBucket {
        FailureBucket(settings: .init(rate: rate, burst: burst), now: clock.now())
    }

    @Test func theBurstOfFailuresEmptiesTheBucketAndOneRefusalBeginsTheEpisode() {
        var bucket = bucket()
        for _ in 0..<3 {
            #expect(bucket.attemptReceived(now: clock.now()) == .admitted)
            bucket.attemptEnded(.failed, now: clock.now())
        }
        #expect(bucket.attemptReceived(now: clock.now()) == .limitBegan)
        #expect(bucket.attemptReceived(now: clock.now()) == .limited)
        #expect(bucket.attemptReceived(now: clock.now()) == .limited)
    }

    @Test func attemptsThatSucceedGiveTheirTokenBack() {
        var bucket = bucket()
        for _ in 0..<100 {
            #expect(bucket.attemptReceived(now: clock.now()) == .admitted)
            bucket.attemptEnded(.notFailed, now: clock.now())
        }
    }

    /// The flood the limit is for: N attempts arrive before the first is decided.
    @Test(arguments: [3, 10, 100])
    func aBurstOfConcurrentAttemptsAdmitsAtMostTheBucketBeforeAnyIsDecided(burst: Int) {
        var bucket = FailureBucket(settings: .init(rate: 20, burst: Double(burst)), now: clock.now())
        var outcomes: [FailureBucket.Admission] = []
        for _ in 0..<(burst * 10 + 5) { outcomes.append(bucket.attemptReceived(now: clock.now())) }
        #expect(outcomes.filter { $0 == .admitted }.count == burst)
        #expect(outcomes.filter { $0 == .limitBegan }.count == 1)
        // Time refills it at the rate, whether or not the admitted ones are decided yet; the flood goes on as one
        // episode.
        clock.advance(by: 0.1)  // two tokens at 20 a second
        #expect(bucket.attemptReceived(now: clock.now()) == .admitted)
        #expect(bucket.attemptReceived(now: clock.now()) == .admitted)
        #expect(bucket.attemptReceived(now: clock.now()) == .limited)
    }

    @Test func aTicketEndsOnceAndAWaitingAttemptGivesItsTokenBackEarly() {
        let limit = FailureRateLimit(settings: .init(rate: 1, burst: 2), now: clock.now())
        #expect(limit.attemptReceived(now: clock.now()) == .admitted)
        let waiting = limit.ticket(clock: clock)
        #expect(limit.attemptReceived(now: clock.now()) == .admitted)
        let failing = limit.ticket(clock: clock)
        #expect(limit.attemptReceived(now: clock.now()) == .limitBegan)
        // A push wait returns the token at once; its deny takes one when it ends.
        waiting.waiting()
        #expect(limit.attemptReceived(now: clock.now()) == .admitted)
        let third = limit.ticket(clock: clock)
        third.ended(failed: false)
        third.ended(failed: false)  // a second end changes nothing
        failing.ended(failed: true)
        waiting.ended(failed: true)
        #expect(limit.attemptReceived(now: clock.now()) == .limited)
    }

    @Test func tokensComeBackAtTheRateAndTheEpisodeEndsAfterARefillWithoutRefusals() {
        var bucket = bucket(rate: 2, burst: 3)
        for _ in 0..<3 { bucket.failureRecorded(now: clock.now()) }
        #expect(bucket.attemptReceived(now: clock.now()) == .limitBegan)
        clock.advance(by: 0.4)
        #expect(bucket.attemptReceived(now: clock.now()) == .limited)
        clock.advance(by: 0.1)  // 0.5 s at 2 per second: one token, taken by a failing attempt: the same episode
        #expect(bucket.attemptReceived(now: clock.now()) == .admitted)
        bucket.attemptEnded(.failed, now: clock.now())
        #expect(bucket.attemptReceived(now: clock.now()) == .limited)
        // A token back, but the last refusal was only now: still the same episode.
        clock.advance(by: 0.5)
        #expect(bucket.attemptReceived(now: clock.now()) == .admitted)
        bucket.attemptEnded(.notFailed, now: clock.now())
        // 1.5 s (burst / rate) without a refusal: the episode is over.
        clock.advance(by: 1.0)
        #expect(bucket.attemptReceived(now: clock.now()) == .limitEnded(refused: 3))
        bucket.attemptEnded(.failed, now: clock.now())
        for _ in 0..<2 {
            #expect(bucket.attemptReceived(now: clock.now()) == .admitted)
            bucket.attemptEnded(.failed, now: clock.now())
        }
        #expect(bucket.attemptReceived(now: clock.now()) == .limitBegan)
    }

    @Test func theBucketHoldsNoMoreThanTheBurst() {
        var bucket = bucket(rate: 10, burst: 3)
        clock.advance(by: 3600)
        for _ in 0..<3 { bucket.failureRecorded(now: clock.now()) }
        #expect(bucket.attemptReceived(now: clock.now()) == .limitBegan)
    }

    @Test func aClockSetBackRefillsNothing() {
        var bucket = bucket(rate: 1, burst: 2)
        for _ in 0..<2 { bucket.failureRecorded(now: clock.now()) }
        clock.advance(by: -3600)
        #expect(bucket.attemptReceived(now: clock.now()) == .limitBegan)
        clock.advance(by: 2)
        #expect(bucket.attemptReceived(now: clock.now()) == .limitEnded(refused: 1))
    }

    @Test func zeroInEitherSettingIsOff() {
        #expect(!FailureBucket.Settings(rate: 0, burst: 100).isEnabled)
        #expect(!FailureBucket.Settings(rate: 20, burst: 0).isEnabled)
        #expect(FailureBucket.Settings(rate: 20, burst: 100).isEnabled)
    }

    @Test func theSharedLimitIsOneBucket() {
        let limit = FailureRateLimit(settings: .init(rate: 1, burst: 1), now: clock.now())
        #expect(limit.attemptReceived(now: clock.now()) == .admitted)
        limit.failureRecorded(now: clock.now())
        #expect(limit.attemptReceived(now: clock.now()) == .limitBegan)
        #expect(limit.settings == .init(rate: 1, burst: 1))
    }

    @Test func wrongSecretsCountAndOtherRejectionsDoNot() {
        #expect(RejectReason.invalidCredentials.isFailedAttempt)
        #expect(RejectReason.invalidCode.isFailedAttempt)
        #expect(RejectReason.replayedCode.isFailedAttempt)
        #expect(!RejectReason.pushTimeout.isFailedAttempt)
        #expect(!RejectReason.unavailable.isFailedAttempt)
        #expect(!RejectReason.locked.isFailedAttempt)
    }
}
