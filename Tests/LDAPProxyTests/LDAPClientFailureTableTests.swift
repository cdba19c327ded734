import Foundation
import MFACore
import Testing

@testable import LDAPProxy

/// The per-address failure buckets: one per address, in a table that never outgrows its capacity.
@Suite struct LDAPClientFailureTableTests {
    let settings = FailureBucket.Settings(rate: 1, burst: 3)
    let now = Date(timeIntervalSince1970: 1_700_000_000)

    @Test func anAddressKeepsItsBucket() {
        var table = LDAPClientFailureTable(settings: settings, capacity: 10)
        let first = table.limit(for: "192.0.2.1", now: now)
        #expect(first === table.limit(for: "192.0.2.1", now: now))
        #expect(first !== table.limit(for: "192.0.2.2", now: now))
        #expect(table.count == 2)
    }

    @Test func fullBucketsAreForgottenFirst() {
        var table = LDAPClientFailureTable(settings: settings, capacity: 10)
        let failing = table.limit(for: "192.0.2.1", now: now)
        _ = failing.attemptReceived(now: now)
        failing.attemptEnded(.failed, now: now)
        for host in 2...10 { _ = table.limit(for: "192.0.2.\(host)", now: now) }
        #expect(table.count == 10)
        _ = table.limit(for: "192.0.2.11", now: now)
        // Nine full buckets gone; the failing address keeps its bucket, and the new one is in.
        #expect(table.count == 2)
        #expect(table.limit(for: "192.0.2.1", now: now) === failing)
    }

    @Test func failingAddressesBeyondTheCapacityNeverGrowTheTable() {
        var table = LDAPClientFailureTable(settings: settings, capacity: 100)
        // A millisecond apart: a bucket refills in a second, so most of the table is never full.
        let end = now + 9.999
        for host in 0..<10_000 {
            let time = now + Double(host) / 1000
            let limit = table.limit(for: "10.0.\(host / 256).\(host % 256)", now: time)
            _ = limit.attemptReceived(now: time)
            limit.attemptEnded(.failed, now: time)
            #expect(table.count <= 100)
        }
        // Those idle longest went first: the latest address is still limited.
        let latest = table.limit(for: "10.0.39.15", now: end)
        #expect(!latest.isFull(now: end))
    }

    @Test func zeroTurnsLimitingOff() {
        #expect(LDAPClientFailureLimits(settings: FailureBucket.Settings(rate: 0, burst: 100)) == nil)
        #expect(LDAPClientFailureLimits(settings: FailureBucket.Settings(rate: 20, burst: 0)) == nil)
        #expect(LDAPClientFailureLimits(settings: FailureBucket.Settings(rate: 20, burst: 100)) != nil)
    }
}
