import ArgumentParser
import Foundation

/// The load generator behind BENCHMARKS.md and Scripts/bench.
@main
struct CountersignBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "countersign-bench",
        abstract: "Load generator for RADIUS servers (Countersign, FreeRADIUS), the push fleet and LDAP binds.",
        subcommands: [RADIUSCommand.self, ReflectorCommand.self, PushCommand.self, LDAPCommand.self])
}

struct RADIUSCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "radius", abstract: "Send Access-Requests or Status-Server and check every reply.")

    @Option(help: "The server, host:port (IPv4).") var server: String
    @Option(help: "The shared secret.") var secret: String
    @Option(help: "CSV with username,password,totp_secret (the file Countersign imports).") var users: String?
    @Option(help: "totp (User-Password is the code), password (password,code), status (Status-Server), flood (unknown users, wrong password: rejects expected).")
    var workload: RADIUSWorkload = .totp
    @Option(help: "Requests outstanding at once.") var concurrency = 16
    @Option(help: "Requests to send in all.") var requests = 10_000
    @Option(help: "Requests per second; 0 sends as fast as the concurrency allows.") var rate: Double = 0
    @Option(help: "Sender threads (each with its own sockets).") var threads = 1
    @Option(help: "Source address to send from (clients are told apart by it).") var source = "0.0.0.0"
    @Option(help: "Seconds before a request without a reply counts as lost.") var timeout: Double = 2
    @Option(help: "TOTP steps around now to use, in order, e.g. 0,1 (Countersign) or 0 (a server that only takes now).")
    var codeOffsets = "0,1"
    @Option(help: "File remembering each user's last used TOTP step, one per server, so no code is sent twice.")
    var state: String?
    @Flag(help: "Leave out Message-Authenticator (Status-Server always has it).") var noMessageAuthenticator = false
    @Option(help: "Name for the report.") var label = "server"
    @Flag(help: "Print the report as one JSON object.") var json = false

    func run() throws {
        let usersTable = try users.map(BenchUsers.init(csv:))
        guard workload == .status || workload == .flood || usersTable != nil else { throw ValidationError("--users is needed for \(workload)") }
        let offsets = try codeOffsets.split(separator: ",").map { part -> Int64 in
            guard let offset = Int64(part.trimmingCharacters(in: .whitespaces)) else { throw ValidationError("--code-offsets: \(part)") }
            return offset
        }
        let budget = try usersTable.map { try CodeBudget(users: $0.count, offsets: offsets, statePath: state) }
        let plan = RADIUSLoadPlan(
            server: try parseHostPort(server), source: source, secret: Array(secret.utf8), workload: workload,
            concurrency: max(1, concurrency), requests: requests, rate: rate, threads: threads, timeoutSeconds: timeout,
            messageAuthenticator: !noMessageAuthenticator)
        let result = try RADIUSLoad(plan: plan, users: usersTable, budget: budget).run()
        try budget?.save()
        let report = LoadReport(
            label: label, workload: workload.rawValue, concurrency: plan.concurrency, counts: result.counts, seconds: result.seconds,
            latency: result.latency)
        print(json ? report.json() : report.line)
    }
}

struct ReflectorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reflector", abstract: "Answer every RADIUS request with a valid Access-Accept: the generator's ceiling.")

    @Option(help: "Address to listen on, host:port (IPv4).") var listen: String
    @Option(help: "The shared secret.") var secret: String
    @Option(help: "Threads, each with its own SO_REUSEPORT socket.") var threads = 1

    func run() throws {
        try Reflector(listen: try parseHostPort(listen), secret: Array(secret.utf8), threads: threads).run()
    }
}
