import CountersignConfig
import Foundation
import MFACore
import Testing

/// `/metrics` on the metrics listener: logins of every outcome, read back from the counters; promtool accepts it.
@Suite struct MetricsTests {
    @Test func loginsOfEachOutcomeAreCountedAndPromtoolAcceptsTheExposition() async throws {
        // One client, on 127.0.0.1: requests from ::1 come from an unknown client.
        try await TestGateway.with(
            clients: [TestGateway.defaultClients()[0]], metrics: MetricsSettings(listen: ListenAddress(host: "127.0.0.1", port: 0))
        ) { gateway in
            let secret = try await gateway.addUser("alice", password: "pw")
            let radclient = gateway.radclient()
            #expect(try await radclient.send(RADIUSGatewayTests.login("alice", "pw,\(gateway.code(secret))")).code == "Access-Accept")
            #expect(try await radclient.send(RADIUSGatewayTests.login("alice", "pw,\(gateway.wrongCode(secret))")).code == "Access-Reject")
            #expect(try await radclient.send(RADIUSGatewayTests.login("alice", "pw")).code == "Access-Challenge")
            // A wrong shared secret: the Message-Authenticator does not verify.
            let forged = try await gateway.radclient(secret: "not-the-secret", timeout: 1).send(RADIUSGatewayTests.login("alice", "pw"))
            #expect(forged.code == nil)
            let unknown = try await gateway.radclient(ipv6: true, timeout: 1).send(RADIUSGatewayTests.login("alice", "pw"))
            #expect(unknown.code == nil)
            // The same datagram twice: the second is a duplicate, answered from the cache.
            let request = CrashDuringAuthLoadTests.codeRequest("alice", "pw,000000x", identifier: 42)
            let client = try UDPTestClient(port: gateway.ipv4Port)
            client.send(request)
            let first = try #require(await client.receive())
            client.send(request)
            #expect(try await client.receive() == first)

            let port = try #require(await gateway.gateway.metricsServer?.port())
            let scraped = try await GatewayHealthTests.get("http://127.0.0.1:\(port)/metrics")
            #expect(scraped.status == 200)
            let metrics = Self.samples(scraped.body)
            let local = #"{client="local"}"#
            // The forged and the unknown client's requests are dropped before they count as requests.
            #expect(metrics["countersign_radius_access_requests_total\(local)"] == 5)
            #expect(metrics["countersign_radius_access_accepts_total\(local)"] == 1)
            #expect(metrics["countersign_radius_access_rejects_total\(local)"] == 2)
            #expect(metrics["countersign_radius_access_challenges_total\(local)"] == 1)
            #expect(metrics["countersign_radius_duplicate_requests_total\(local)"] == 1)
            // radclient may have sent them more than once.
            #expect((metrics[#"countersign_radius_dropped_requests_total{reason="bad_authenticator"}"#] ?? 0) >= 1)
            #expect((metrics[#"countersign_radius_dropped_requests_total{reason="unknown_client"}"#] ?? 0) >= 1)
            #expect(metrics[#"countersign_radius_dropped_requests_total{reason="queue_wait"}"#] == 0)
            #expect(metrics[#"countersign_login_duration_seconds_count{front_end="radius",outcome="accept"}"#] == 1)
            #expect(metrics[#"countersign_login_duration_seconds_count{front_end="radius",outcome="reject"}"#] == 2)
            #expect(metrics[#"countersign_login_duration_seconds_count{front_end="radius",outcome="challenge"}"#] == 1)
            #expect(metrics["countersign_pushes_pending"] == 0)
            // Each login reads alice's credentials, from the database the first time (and after each change).
            let read = metrics[#"countersign_store_operation_duration_seconds_count{operation="credentials_read"}"#] ?? 0
            let cached = metrics[#"countersign_store_operation_duration_seconds_count{operation="credentials_cached"}"#] ?? 0
            #expect(read >= 1 && read + cached >= 4)
            #expect((metrics["process_resident_memory_bytes"] ?? 0) > 0)
            #expect((metrics["process_open_fds"] ?? 0) > 0)
            // Every family has its HELP line.
            let families = Set(scraped.body.split(separator: "\n").filter { $0.hasPrefix("# TYPE ") }.map { $0.split(separator: " ")[2] })
            let described = Set(scraped.body.split(separator: "\n").filter { $0.hasPrefix("# HELP ") }.map { $0.split(separator: " ")[2] })
            #expect(families == described)

            let promtool = try ChildProcess("/usr/bin/promtool", ["check", "metrics"])
            promtool.write(scraped.body + "\n")
            try promtool.closeInput()
            #expect(try await promtool.exitStatus() == 0, "\(promtool.output)")

            #expect(try await GatewayHealthTests.get("http://127.0.0.1:\(port)/readyz").status == 200)
            #expect(try await GatewayHealthTests.get("http://127.0.0.1:\(port)/healthz").status == 200)
            // Status is for the HTTP listener's loopback callers only.
            #expect(try await GatewayHealthTests.get("http://127.0.0.1:\(port)/v1/status").status == 404)
        }
    }

    /// Sample lines of the text format: `name{labels} value`.
    static func samples(_ exposition: String) -> [String: Double] {
        var samples: [String: Double] = [:]
        for line in exposition.split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else { continue }
            samples[String(line[..<space])] = value
        }
        return samples
    }
}
