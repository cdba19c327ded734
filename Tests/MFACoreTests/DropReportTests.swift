import Foundation
import LogCapture
import Logging
import MFACore
import Testing

/// The warning `dropped requests`: its fields, at most once per interval for each reason and client, and nothing
/// left unsaid at the end of a burst.
@Suite struct DropReportTests {
    /// A logged line, with the fields the warning carries.
    struct Line: Equatable {
        var level: Logger.Level
        var message: String
        var reason: String?
        var client: String?
        var count: Int?
    }

    /// The warnings logged since the last look.
    final class Warnings: Sendable {
        private let log = CapturedLog()
        var logger: Logger { log.logger(label: "drops") }
        func take() -> [Line] {
            log.take().map { entry in
                Line(
                    level: entry.level, message: entry.message, reason: entry.metadata["reason"].map { "\($0)" },
                    client: entry.metadata["client"].map { "\($0)" }, count: entry.metadata["count"].flatMap { Int("\($0)") })
            }
        }
    }

    let clock = ManualWallClock()
    let warnings = Warnings()

    func line(_ reason: String, _ client: String, _ count: Int) -> Line {
        Line(level: .warning, message: "dropped requests", reason: reason, client: client, count: count)
    }

    @Test func theFirstDropIsSaidAtOnceAndTheRestOncePerIntervalWithTheirCount() {
        let drops = DropReport(logger: warnings.logger, clock: clock, interval: 10)
        drops.dropped(.queueWait, client: "nas-1")
        #expect(warnings.take() == [line("queue_wait", "nas-1", 1)])

        for _ in 0..<99 {
            clock.advance(by: 0.05)
            drops.dropped(.queueWait, client: "nas-1")
        }
        #expect(warnings.take().isEmpty, "within the interval nothing more is said")

        clock.advance(by: 10)
        drops.dropped(.queueWait, client: "nas-1")
        #expect(warnings.take() == [line("queue_wait", "nas-1", 100)])
        #expect(drops.total(.queueWait) == 101)
    }

    @Test func eachReasonAndClientHasItsOwnInterval() {
        let drops = DropReport(logger: warnings.logger, clock: clock, interval: 10)
        drops.dropped(.queueWait, client: "nas-1")
        drops.dropped(.overloaded, client: "nas-1")
        drops.dropped(.queueWait, client: "nas-2", count: 3)
        drops.dropped(.rateLimited, client: "ldap:directory")
        #expect(
            warnings.take() == [
                line("queue_wait", "nas-1", 1), line("overloaded", "nas-1", 1), line("queue_wait", "nas-2", 3),
                line("rate_limited", "ldap:directory", 1),
            ])
    }

    @Test func whatABurstLeftUnsaidIsSaidOnceItsIntervalHasPassed() {
        let drops = DropReport(logger: warnings.logger, clock: clock, interval: 10)
        drops.dropped(.queueWait, client: "nas-1")
        drops.dropped(.queueWait, client: "nas-1", count: 41)
        #expect(warnings.take().count == 1)

        clock.advance(by: 9)
        drops.reportDue()
        #expect(warnings.take().isEmpty, "not before the interval")

        clock.advance(by: 1)
        drops.reportDue()
        #expect(warnings.take() == [line("queue_wait", "nas-1", 41)])

        // Nothing new: nothing said. A drop right after the report waits for the next interval.
        clock.advance(by: 20)
        drops.reportDue()
        drops.dropped(.queueWait, client: "nas-1")
        #expect(warnings.take() == [line("queue_wait", "nas-1", 1)])
        drops.dropped(.queueWait, client: "nas-1")
        drops.reportDue()
        #expect(warnings.take().isEmpty)
        #expect(drops.total(.queueWait) == 44)
    }
}
