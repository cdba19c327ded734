import CountersignConfig
import Foundation
import MFACore
import Testing

/// One noisy NAS must not lock everyone out: a client flooding unknown-user logins while another logs in.
@Suite struct FloodTests {
    static let goodSecret = "good-secret"
    static let badSecret = "bad-secret"
    static let maxQueueWait = 2.0

    static var clients: [RADIUSClientSettings] {
        [
            RADIUSClientSettings(name: "good", network: IPNetwork("127.0.0.1/32")!, secret: goodSecret),
            RADIUSClientSettings(name: "bad", network: IPNetwork("127.0.0.2/32")!, secret: badSecret),
            RADIUSClientSettings(name: "local6", network: IPNetwork("::1/128")!, secret: goodSecret),
        ]
    }

    /// Real scrypt (N = 2^15), the work a flood makes the server do. `radclient -t 5 -r 1`: a NAS that gives up after
    /// five seconds.
    @Test func everyLoginOfAnotherClientIsAnsweredWhileOneClientFloods() async throws {
        try await TestGateway.with(clients: Self.clients, maxQueueWait: Self.maxQueueWait, hasher: PasswordHasher()) { gateway in
            var secrets: [String: [UInt8]] = [:]
            for index in 0..<10 { secrets["good\(index)"] = try await gateway.addUser("good\(index)", password: "pw") }
            let badOwn = try await gateway.addUser("bad-own", password: "pw")
            let flood = try RADIUSFlood(source: "127.0.0.2", port: gateway.ipv4Port, secret: Self.badSecret)
            let flooding = Task { await flood.run(rate: 1000, duration: 12, linger: 2) }

            // One login a second through the good client, each its own user (a code is accepted once).
            let radclient = Radclient(server: "127.0.0.1:\(gateway.ipv4Port)", secret: Self.goodSecret, timeout: 5, retries: 1)
            var verdicts: [String?] = []
            for index in 0..<10 {
                let started = Date()
                let user = "good\(index)"
                let reply = try await radclient.send(RADIUSGatewayTests.login(user, "pw,\(gateway.code(secrets[user]!))"))
                verdicts.append(reply.code)
                let elapsed = Date().timeIntervalSince(started)
                if elapsed < 1 { try await Task.sleep(for: .seconds(1 - elapsed)) }  // the pace of the logins, not a wait for the server
            }
            #expect(verdicts == Array(repeating: "Access-Accept", count: 10))

            let report = await flooding.value
            #expect(report.sent >= 6_000, "sent \(report.sent)")
            // Nothing answered that had waited for its turn longer than a NAS would: no check began later than
            // `max_queue_wait` after its request arrived (what was not begun by then was dropped, unanswered). The
            // flood's own view adds the hash and the commit after the wait: real scrypt in a debug build, on two cores
            // shared with the flood and the rest of the suite, so only a loose bound (before the fair queue, replies
            // came half a minute late).
            #expect(gateway.gateway.work.counts.longestStartedWait <= Self.maxQueueWait)
            #expect(report.oldestAnswered < Self.maxQueueWait + 8, "oldest answered request: \(report.oldestAnswered) s")
            #expect(gateway.gateway.drops.total(.queueWait) > 0)
            // Refused undecided while its bucket was empty: reported with the drops too.
            #expect(gateway.gateway.drops.total(.rateLimited) > 0)
            #expect(report.unmatched == 0)
            let limited = try await gateway.events(.clientRateLimited)
            #expect(limited.count == 1)
            #expect(limited.first?.resource == "radius:bad")
            #expect(limited.first?.clientAddress == "127.0.0.2")

            // The flood ended `linger` (2 s) ago: the flooding client's own valid login gets in.
            let own = await flood.login(user: "bad-own", password: "pw,\(gateway.code(badOwn))", timeout: 5)
            #expect(own == .accessAccept)
        }
    }
}
