import Foundation
import Testing

@testable import MFACore

@Suite struct FairQueueTests {
    let start = Date(timeIntervalSince1970: 1_700_000_000)

    func started(_ actions: [FairQueue<String>.Action]) -> [String] {
        actions.compactMap { if case .start(let job) = $0 { job } else { nil } }
    }

    func dropped(_ actions: [FairQueue<String>.Action]) -> [String: DropReason] {
        Dictionary(uniqueKeysWithValues: actions.compactMap { if case .drop(let job, let reason) = $0 { (job, reason) } else { nil } })
    }

    @Test func aFloodingSourceWaitsItsTurnBehindAnotherSourcesSingleJob() {
        var queue = FairQueue<String>(settings: .init(maximumRunning: 1, maximumQueuedPerSource: 100, maximumWait: 3))
        #expect(started(queue.submit("bad0", source: "bad", arrived: start, now: start)) == ["bad0"])
        for index in 1...50 { #expect(queue.submit("bad\(index)", source: "bad", arrived: start, now: start).isEmpty) }
        #expect(queue.submit("good", source: "good", arrived: start, now: start).isEmpty)
        // One bad job, then the good one, though fifty bad ones came before it.
        #expect(started(queue.finished(now: start)) == ["bad1"])
        #expect(started(queue.finished(now: start)) == ["good"])
        #expect(started(queue.finished(now: start)) == ["bad2"])
        #expect(queue.queued == 48)
    }

    @Test func jobsThatWaitedLongerThanTheNASWouldAreDroppedWhenTheirTurnComes() {
        var queue = FairQueue<String>(settings: .init(maximumRunning: 1, maximumQueuedPerSource: 100, maximumWait: 3))
        _ = queue.submit("first", source: "a", arrived: start, now: start)
        _ = queue.submit("stale", source: "a", arrived: start, now: start)
        _ = queue.submit("fresh", source: "a", arrived: start.addingTimeInterval(2), now: start.addingTimeInterval(2))
        let actions = queue.finished(now: start.addingTimeInterval(3.5))
        #expect(dropped(actions) == ["stale": .queueWait])
        #expect(started(actions) == ["fresh"])
        // Already too old when it arrives at the queue: dropped at once.
        #expect(dropped(queue.submit("late", source: "b", arrived: start, now: start.addingTimeInterval(4))) == ["late": .queueWait])
    }

    @Test func aSourceMayQueueOnlySoMuch() {
        var queue = FairQueue<String>(settings: .init(maximumRunning: 1, maximumQueuedPerSource: 2, maximumWait: 3))
        _ = queue.submit("run", source: "a", arrived: start, now: start)
        #expect(queue.submit("q1", source: "a", arrived: start, now: start).isEmpty)
        #expect(queue.submit("q2", source: "a", arrived: start, now: start).isEmpty)
        #expect(dropped(queue.submit("q3", source: "a", arrived: start, now: start)) == ["q3": .overloaded])
        #expect(queue.submit("other", source: "b", arrived: start, now: start).isEmpty)
        #expect(queue.running == 1 && queue.queued == 3)
    }

    @Test func severalRunAtOnceAndTheQueueEmptiesCompletely() {
        var queue = FairQueue<String>(settings: .init(maximumRunning: 2, maximumQueuedPerSource: 10, maximumWait: 3))
        var all: [String] = []
        for index in 0..<5 { all += started(queue.submit("j\(index)", source: "s\(index % 2)", arrived: start, now: start)) }
        #expect(all == ["j0", "j1"])
        while queue.running > 0 { all += started(queue.finished(now: start)) }
        #expect(all.sorted() == ["j0", "j1", "j2", "j3", "j4"])
        #expect(queue.queued == 0)
    }

    @Test func theWorkQueueRunsTheWorkOrSaysWhyNot() async {
        let clock = ManualWallClock(start)
        let work = LoginWorkQueue(settings: .init(maximumRunning: 1, maximumWait: 3), clock: clock)
        #expect(await work.run(source: "a", arrived: clock.now()) { 42 } == .success(42))
        #expect(await work.run(source: "a", arrived: start.addingTimeInterval(-10)) { 42 } == .failure(.queueWait))
        #expect(work.counts.running == 0 && work.counts.queued == 0)
    }
}
