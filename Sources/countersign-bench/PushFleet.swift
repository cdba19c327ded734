import ArgumentParser
import CountersignApp
import CountersignConfig
import DeviceClient
import DeviceProtocol
import Foundation

/// Push at scale: N users each with an enrolled device (the real enrollment and signed device calls, many devices
/// in this one process), N RADIUS logins waiting on their pushes at once, Status-Server probed while they wait,
/// then every push approved; reports approve-to-Access-Accept latency and the server's memory.
struct PushCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "push", abstract: "N devices, N logins waiting on push, approve them all.")

    @Option(help: "The Countersign configuration (the store for enrollment codes, http.public_url for the devices).")
    var config: String
    @Option(help: "CSV whose first N users (already in the store) get a device.") var users: String
    @Option(help: "Devices and concurrent logins.") var count = 10_000
    @Option(help: "The RADIUS server, host:port; its client for this source must be second-factor-only.") var server: String
    @Option(help: "The shared secret.") var secret: String
    @Option(help: "Source address for the logins.") var source = "127.0.0.1"
    @Option(help: "Folder for the devices' keystores.") var keystores: String
    @Option(help: "Device calls in flight at once while enrolling and fetching.") var deviceConcurrency = 64
    @Option(help: "Answers in flight at once (users tap approve at different moments, not all in the same millisecond).")
    var approveConcurrency = 4
    @Option(help: "The server's process id, for its memory (VmRSS, VmHWM).") var serverPid: Int32?
    @Flag(help: "Print the report as one JSON object.") var json = false

    func run() async throws {
        let configuration = try CountersignConfiguration.load(path: config)
        let table = try BenchUsers(csv: users)
        let count = min(self.count, table.count)
        let names = table.names.prefix(count).map { String(decoding: $0, as: UTF8.self) }
        try FileManager.default.createDirectory(atPath: keystores, withIntermediateDirectories: true)

        // 1. Enrollment codes from the store, then each device enrolls over HTTP with a key of its own.
        var started = Date()
        let admin = try CountersignAdmin(configuration: configuration)
        var enrollmentURIs: [String] = []
        for name in names { enrollmentURIs.append(try await admin.enrollDevice(name).uri) }
        let uris = enrollmentURIs
        // One connection per call in flight, so that no answer waits in the client for a connection.
        let transport = URLSessionTransport(maximumConnectionsPerHost: deviceConcurrency)
        let keystores = self.keystores
        let devices = try await forEach(0..<count, concurrency: deviceConcurrency) { index in
            let keystore = try await Enrollment.enroll(
                uriText: uris[index], keystorePath: "\(keystores)/\(index).json", name: "bench-\(index)", force: true,
                transport: transport)
            return try DeviceAPIClient(keystore: keystore, transport: transport)
        }
        progress(String(format: "enrolled %d devices in %.1f s", count, Date().timeIntervalSince(started)))
        let enrolledRSS = serverPid.flatMap { memoryKiB(pid: $0, field: "VmRSS") }

        // 2. N logins at once, each waiting on its push.
        let replyTimes = UnsafeMutableBufferPointer<UInt64>.allocate(capacity: table.count)
        replyTimes.initialize(repeating: 0)
        defer { replyTimes.deallocate() }
        let plan = RADIUSLoadPlan(
            server: try parseHostPort(server), source: source, secret: Array(secret.utf8), workload: .push,
            concurrency: count, requests: count, threads: 1, timeoutSeconds: 600)
        let logins = RADIUSLoad(plan: plan, users: table, budget: nil, replyTimes: replyTimes)
        let loginsDone = Task { try await onOwnThread { try logins.run() } }

        // 3. Every device sees its push: all N are pending on the server now.
        started = Date()
        let pushes = try await forEach(0..<count, concurrency: deviceConcurrency) { index in
            for _ in 0..<10 {
                if let push = try await devices[index].fetchPushes(wait: 20).pushes.first { return push }
            }
            throw BenchError("device \(index) saw no push")
        }
        progress(String(format: "%d pushes pending (all seen by their devices after %.1f s)", count, Date().timeIntervalSince(started)))
        let pendingRSS = serverPid.flatMap { memoryKiB(pid: $0, field: "VmRSS") }

        // 4. Status-Server while they wait.
        let probe = RADIUSLoad(
            plan: RADIUSLoadPlan(
                server: plan.server, source: source, secret: plan.secret, workload: .status, concurrency: 1, requests: 2_000),
            users: nil, budget: nil)
        let status = try await onOwnThread { try probe.run() }

        // 5. Approve them all; the latency is from just before the answer is sent to the Access-Accept.
        let approvedAt = try await forEach(0..<count, concurrency: approveConcurrency) { index in
            let sent = monotonicNanoseconds()
            let statusCode = try await devices[index].answer(pushes[index], decision: .approve).status
            guard statusCode == 200 || statusCode == 204 else { throw BenchError("answer for device \(index): HTTP \(statusCode)") }
            return sent
        }
        let result = try await loginsDone.value
        var approveToAccept = LatencyRecorder()
        for index in 0..<count where replyTimes[index] > approvedAt[index] {
            approveToAccept.record(nanoseconds: replyTimes[index] - approvedAt[index])
        }
        let peakRSS = serverPid.flatMap { memoryKiB(pid: $0, field: "VmHWM") }
        let report = PushReport(
            devices: count, approve_concurrency: approveConcurrency, accepted: result.counts.accepted, wrong: result.counts.wrong, lost: result.counts.lost,
            approve_to_accept_p50_ms: approveToAccept.milliseconds(at: 50), approve_to_accept_p99_ms: approveToAccept.milliseconds(at: 99),
            status_server_p50_ms: status.latency.milliseconds(at: 50), status_server_p99_ms: status.latency.milliseconds(at: 99),
            status_server_wrong_or_lost: status.counts.wrong + status.counts.lost,
            server_rss_enrolled_mib: enrolledRSS.map { Double($0) / 1024 }, server_rss_pending_mib: pendingRSS.map { Double($0) / 1024 },
            server_peak_rss_mib: peakRSS.map { Double($0) / 1024 })
        print(json ? report.json() : report.line)
    }
}

struct PushReport: Codable {
    var devices: Int
    var approve_concurrency: Int
    var accepted: Int
    var wrong: Int
    var lost: Int
    var approve_to_accept_p50_ms: Double
    var approve_to_accept_p99_ms: Double
    var status_server_p50_ms: Double
    var status_server_p99_ms: Double
    var status_server_wrong_or_lost: Int
    /// After the enrollments, before any login.
    var server_rss_enrolled_mib: Double?
    var server_rss_pending_mib: Double?
    var server_peak_rss_mib: Double?

    var line: String {
        String(
            format: "push: %d devices, %d accepted, %d wrong, %d lost; approve→Accept (%d answers in flight) p50 %.2f ms, p99 %.2f ms; "
                + "Status-Server while waiting p50 %.2f ms, p99 %.2f ms (%d wrong or lost); server RSS after enrollment %.0f MiB, with all pending %.0f MiB, peak %.0f MiB",
            devices, accepted, wrong, lost, approve_concurrency, approve_to_accept_p50_ms, approve_to_accept_p99_ms, status_server_p50_ms,
            status_server_p99_ms, status_server_wrong_or_lost, server_rss_enrolled_mib ?? -1, server_rss_pending_mib ?? -1,
            server_peak_rss_mib ?? -1)
    }

    func json() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: (try? encoder.encode(self)) ?? Data(), as: UTF8.self)
    }
}

/// `field` (kB) from /proc/PID/status.
func memoryKiB(pid: Int32, field: String) -> Int? {
    guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
    for line in status.split(separator: "\n") where line.hasPrefix(field + ":") {
        return Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "")
    }
    return nil
}

/// `body` for every index with at most `concurrency` in flight; results in index order.
func forEach<T: Sendable>(
    _ indices: Range<Int>, concurrency: Int, _ body: @escaping @Sendable (Int) async throws -> T
) async throws -> [T] {
    try await withThrowingTaskGroup(of: (Int, T).self) { group in
        var results = [T?](repeating: nil, count: indices.count)
        var next = indices.lowerBound
        while next < indices.upperBound && next - indices.lowerBound < concurrency {
            let index = next
            group.addTask { (index, try await body(index)) }
            next += 1
        }
        while let (index, value) = try await group.next() {
            results[index - indices.lowerBound] = value
            if next < indices.upperBound {
                let index = next
                group.addTask { (index, try await body(index)) }
                next += 1
            }
        }
        return results.map { $0! }
    }
}

/// Runs blocking work (the RADIUS threads' join) on a thread of its own, off Swift's cooperative pool.
func onOwnThread<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread { continuation.resume(with: Result { try work() }) }.start()
    }
}
