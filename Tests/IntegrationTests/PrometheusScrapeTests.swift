import CountersignConfig
import Foundation
import Testing

/// A real Prometheus (Debian's `prometheus`) scrapes the metrics listener: what an operator's dashboard would read
/// after a login, through PromQL, not only the exposition text `MetricsTests` parses itself.
@Suite struct PrometheusScrapeTests {
    static let prometheus = "/usr/bin/prometheus"

    @Test func prometheusScrapesTheMetricsListenerAndAnswersTheLoginCounts() async throws {
        // Missing, the test fails: it must not pass without having run.
        try #require(
            FileManager.default.isExecutableFile(atPath: Self.prometheus),
            "\(Self.prometheus) is missing: Scripts/install-dependencies installs Debian's prometheus")
        try await TestGateway.with(
            clients: [TestGateway.defaultClients()[0]], metrics: MetricsSettings(listen: ListenAddress(host: "127.0.0.1", port: 0))
        ) { gateway in
            let secret = try await gateway.addUser("alice", password: "pw")
            let radclient = gateway.radclient()
            #expect(try await radclient.send(RADIUSGatewayTests.login("alice", "pw,\(gateway.code(secret))")).code == "Access-Accept")
            #expect(try await radclient.send(RADIUSGatewayTests.login("alice", "pw,\(gateway.wrongCode(secret))")).code == "Access-Reject")
            let metricsPort = try #require(await gateway.gateway.metricsServer?.port())

            try await Self.withPrometheus(scraping: "127.0.0.1:\(metricsPort)") { api in
                // Prometheus adds the job and the target's address to the labels the gateway gives.
                let scraped = ["job": "countersign", "instance": "127.0.0.1:\(metricsPort)"]
                let local = scraped.merging(["client": "local"]) { $1 }
                // Polled until the first scrape is stored: Prometheus has no sample at all before it.
                let accepts = try await Self.poll(api, "countersign_radius_access_accepts_total") { $0[local] == 1 }
                #expect(accepts[local] == 1, "\(accepts)")
                let rejects = try await Self.query(api, "countersign_radius_access_rejects_total")
                #expect(rejects[local] == 1, "\(rejects)")
                let requests = try await Self.query(api, "countersign_radius_access_requests_total")
                #expect(requests[local] == 2, "\(requests)")
                let up = try await Self.query(api, #"up{job="countersign"}"#)
                #expect(up == [scraped: 1], "\(up)")

                let targets = try Self.json(try await GatewayHealthTests.get("\(api)/api/v1/targets"))
                let active = try #require((targets["data"] as? [String: Any])?["activeTargets"] as? [[String: Any]], "\(targets)")
                #expect(active.count == 1)
                let target = try #require(active.first)
                #expect(target["scrapePool"] as? String == "countersign")
                #expect(target["scrapeUrl"] as? String == "http://127.0.0.1:\(metricsPort)/metrics")
                #expect(target["health"] as? String == "up", "\(target["lastError"] ?? "")")
            }
        }
    }

    /// Runs Prometheus with a throw-away configuration and storage, scraping `target` every second; `body` gets the
    /// base URL of its HTTP API. Prometheus is stopped and its folder removed afterwards, also when `body` throws.
    static func withPrometheus(scraping target: String, _ body: (String) async throws -> Void) async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("countersign-prometheus-\(UUID())").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let configuration = """
            global:
              scrape_interval: 1s
              evaluation_interval: 1s
            scrape_configs:
              - job_name: countersign
                static_configs:
                  - targets: ["\(target)"]

            """
        try configuration.write(toFile: folder + "/prometheus.yml", atomically: true, encoding: .utf8)
        let webAddress = "127.0.0.1:\(try freeLoopbackPort(type: Int32(SOCK_STREAM.rawValue)))"
        // No alerting, remote storage or service discovery is configured: nothing leaves this machine. The readiness
        // line below is logged at info.
        let server = try ChildProcess(
            prometheus,
            [
                "--config.file=\(folder)/prometheus.yml", "--storage.tsdb.path=\(folder)/data", "--web.listen-address=\(webAddress)",
                "--log.level=info",
            ])
        let ready = await server.lines(where: { $0.contains(#"msg="Server is ready to receive web requests.""#) })
        // nil: Prometheus ended first (a configuration it refused, a port taken); its output says why.
        guard ready != nil else { throw PrometheusFailed(output: server.output) }
        do {
            try await body("http://\(webAddress)")
        } catch {
            server.terminate()
            _ = try? await server.exitStatus()
            throw error
        }
        // Stopped before its folder goes: it writes its storage on the way out.
        server.terminate()
        #expect(try await server.exitStatus() == 0, "\(server.output.suffix(20))")
    }

    struct PrometheusFailed: Error { var output: [String] }

    /// An instant query's vector: each series' labels (`__name__` left out) and its value.
    static func query(_ api: String, _ expression: String) async throws -> [[String: String]: Double] {
        let plain = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "_"))
        let encoded = try #require(expression.addingPercentEncoding(withAllowedCharacters: plain))
        let answer = try json(try await GatewayHealthTests.get("\(api)/api/v1/query?query=\(encoded)"))
        #expect(answer["status"] as? String == "success", "\(answer)")
        let result = try #require((answer["data"] as? [String: Any])?["result"] as? [[String: Any]], "\(answer)")
        var vector: [[String: String]: Double] = [:]
        for sample in result {
            var labels = try #require(sample["metric"] as? [String: String], "\(sample)")
            labels["__name__"] = nil
            // A sample is [time, "value"]: the value is a string.
            let value = try #require((sample["value"] as? [Any])?.last as? String, "\(sample)")
            vector[labels] = try #require(Double(value), "\(sample)")
        }
        return vector
    }

    /// `query` again until `satisfied`: Prometheus first reloads its targets up to 5 s after start, then scrapes every
    /// second. The 200 ms pause only paces the polls of the query; the deadline guards against a hang.
    static func poll(
        _ api: String, _ expression: String, until satisfied: ([[String: String]: Double]) -> Bool
    ) async throws -> [[String: String]: Double] {
        let deadline = ContinuousClock.now + .seconds(TestTimeout.scaled(30))
        while true {
            let vector = try await query(api, expression)
            if satisfied(vector) || ContinuousClock.now > deadline { return vector }
            try await Task.sleep(for: .milliseconds(200))
        }
    }

    static func json(_ response: (body: String, status: Int)) throws -> [String: Any] {
        #expect(response.status == 200, "\(response.body)")
        let object = try JSONSerialization.jsonObject(with: Data(response.body.utf8))
        return try #require(object as? [String: Any], "\(response.body)")
    }
}
