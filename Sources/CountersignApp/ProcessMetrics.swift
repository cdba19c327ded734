import Foundation
import MFACore
import Prometheus

/// The process's own metrics under Prometheus's standard names, read from /proc at each scrape.
final class ProcessMetrics: Sendable {
    private let residentMemory: Gauge
    private let virtualMemory: Gauge
    private let cpuSeconds: Counter
    /// What `cpuSeconds` has counted: /proc gives the total, and a counter only adds.
    private let countedCPU = Locked(0.0)
    private let openFiles: Gauge
    private let maximumFiles: Gauge
    private let startTime: Gauge

    init(registry: PrometheusCollectorRegistry) {
        residentMemory = registry.makeGauge(name: "process_resident_memory_bytes", help: "Resident memory size in bytes.")
        virtualMemory = registry.makeGauge(name: "process_virtual_memory_bytes", help: "Virtual memory size in bytes.")
        cpuSeconds = registry.makeCounter(name: "process_cpu_seconds_total", help: "Total user and system CPU time spent in seconds.")
        openFiles = registry.makeGauge(name: "process_open_fds", help: "Number of open file descriptors.")
        maximumFiles = registry.makeGauge(name: "process_max_fds", help: "Maximum number of open file descriptors.")
        startTime = registry.makeGauge(name: "process_start_time_seconds", help: "Start time of the process since the Unix epoch in seconds.")
        update()
    }

    func update() {
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        let pageSize = Double(sysconf(Int32(_SC_PAGESIZE)))
        // /proc/self/stat: fields after the command (in parentheses, which may hold spaces); utime and stime are
        // fields 14 and 15, starttime 22, vsize 23, rss 24 (proc(5)).
        if let stat = try? String(contentsOfFile: "/proc/self/stat", encoding: .utf8), let close = stat.lastIndex(of: ")") {
            // Field N of proc(5) at index N - 3 (the state, field 3, first).
            let fields = stat[stat.index(after: close)...].split(separator: " ").map { Double($0) ?? 0 }
            if fields.count >= 22 {
                let cpu = (fields[11] + fields[12]) / ticks
                let added = countedCPU.withLock { counted in
                    defer { counted = max(counted, cpu) }
                    return max(0, cpu - counted)
                }
                cpuSeconds.increment(by: added)
                virtualMemory.set(fields[20])
                residentMemory.set(fields[21] * pageSize)
                if let boot = Self.bootTime() { startTime.set(boot + fields[19] / ticks) }
            }
        }
        if let open = try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd") { openFiles.set(Double(open.count)) }
        var limit = rlimit()
        if getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 { maximumFiles.set(Double(limit.rlim_cur)) }
    }

    /// `btime` of /proc/stat: when the machine booted, in seconds since the epoch.
    private static func bootTime() -> Double? {
        guard let stat = try? String(contentsOfFile: "/proc/stat", encoding: .utf8) else { return nil }
        return stat.split(separator: "\n").first { $0.hasPrefix("btime ") }.flatMap { Double($0.dropFirst(6)) }
    }
}
