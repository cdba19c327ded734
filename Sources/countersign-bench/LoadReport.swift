import Foundation
import Histogram
import Synchronization

/// Latencies in microseconds, up to a minute (pushes wait that long), three significant digits.
struct LatencyRecorder: Sendable {
    private(set) var histogram = Histogram<UInt64>(highestTrackableValue: 120_000_000, numberOfSignificantValueDigits: .three)

    mutating func record(nanoseconds: UInt64) {
        _ = histogram.record(min(nanoseconds / 1000, histogram.highestTrackableValue))
    }

    mutating func add(_ other: LatencyRecorder) { histogram.add(other.histogram) }

    /// Milliseconds at `percentile` (0–100), 0 when nothing was recorded.
    func milliseconds(at percentile: Double) -> Double {
        histogram.totalCount == 0 ? 0 : Double(histogram.valueAtPercentile(percentile)) / 1000
    }
}

/// What one generator run saw. Every request ends in exactly one of accepted, wrong or lost.
struct LoadReport: Codable, Sendable {
    var label: String
    var workload: String
    var concurrency: Int
    /// Requests sent.
    var requests: Int
    /// Replies received and checked, right or wrong.
    var completed: Int
    /// Replies with the expected code and a valid Response Authenticator (and Message-Authenticator, when present).
    var accepted: Int
    /// Replies with another code, a bad authenticator, or that match no request.
    var wrong: Int
    /// Requests with no reply within the timeout.
    var lost: Int
    var seconds: Double
    /// Completed replies per second.
    var throughput: Double
    var p50_ms: Double
    var p90_ms: Double
    var p99_ms: Double
    var max_ms: Double

    init(label: String, workload: String, concurrency: Int, counts: ReplyCounts, seconds: Double, latency: LatencyRecorder) {
        self.label = label
        self.workload = workload
        self.concurrency = concurrency
        requests = counts.sent
        completed = counts.accepted + counts.wrong
        accepted = counts.accepted
        wrong = counts.wrong
        lost = counts.lost
        self.seconds = seconds
        throughput = seconds > 0 ? Double(completed) / seconds : 0
        p50_ms = latency.milliseconds(at: 50)
        p90_ms = latency.milliseconds(at: 90)
        p99_ms = latency.milliseconds(at: 99)
        max_ms = latency.histogram.totalCount == 0 ? 0 : Double(latency.histogram.max) / 1000
    }

    var line: String {
        String(
            format: "%@ %@ c=%d: %d sent, %d accepted, %d wrong, %d lost in %.2f s = %.0f/s; p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, max %.2f ms",
            label, workload, concurrency, requests, accepted, wrong, lost, seconds, throughput, p50_ms, p90_ms, p99_ms, max_ms)
    }

    func json() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: (try? encoder.encode(self)) ?? Data(), as: UTF8.self)
    }
}

struct ReplyCounts: Sendable {
    var sent = 0
    var accepted = 0
    var wrong = 0
    var lost = 0

    mutating func add(_ other: ReplyCounts) {
        sent += other.sent
        accepted += other.accepted
        wrong += other.wrong
        lost += other.lost
    }
}

/// CLOCK_MONOTONIC in nanoseconds: latencies must not jump with the wall clock.
@inline(__always)
func monotonicNanoseconds() -> UInt64 {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
}

/// The run's lines go to stderr; stdout carries only the report (a line, or JSON with `--json`).
func progress(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}

/// The run's request count, shared by its workers: the one counter they all touch.
final class Tickets: Sendable {
    private let issued = Atomic<Int>(0)
    let limit: Int

    init(limit: Int) { self.limit = limit }

    /// True while requests are left to send.
    func take() -> Bool { issued.add(1, ordering: .relaxed).newValue <= limit }
}
