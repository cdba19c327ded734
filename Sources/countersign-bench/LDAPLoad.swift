import ArgumentParser
import Foundation
import LDAPCodec

/// Simple binds, one connection per concurrent client, each rebinding on its connection (RFC 4511 §4.2 allows it):
/// against the directory directly (password) and through Countersign's proxy (password, delimiter, fresh code).
struct LDAPCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ldap", abstract: "Simple binds over persistent connections; every reply checked.")

    @Option(help: "The server, host:port (IPv4): the directory or the proxy.") var server: String
    @Option(help: "CSV with username,password,totp_secret.") var users: String
    @Option(help: "Bind DN with {user} for the user name.") var dnTemplate = "uid={user},ou=people,dc=example,dc=org"
    @Flag(help: "Append the delimiter and a fresh TOTP code to the password (the proxy's TOTP path).") var appendCode = false
    @Option(help: "Connections binding at once.") var concurrency = 16
    @Option(help: "Binds in all.") var requests = 2_000
    @Option(help: "TOTP steps around now to use.") var codeOffsets = "0,1"
    @Option(help: "File remembering each user's last used TOTP step.") var state: String?
    @Option(help: "Name for the report.") var label = "ldap"
    @Flag(help: "Print the report as one JSON object.") var json = false

    func run() throws {
        let table = try BenchUsers(csv: users)
        let offsets = codeOffsets.split(separator: ",").compactMap { Int64($0) }
        let budget = try CodeBudget(users: table.count, offsets: offsets, statePath: state)
        let endpoint = try parseHostPort(server)
        let tickets = Tickets(limit: requests)
        let connections = max(1, concurrency)
        let workers = (0..<connections).map { index in
            LDAPBindWorker(
                endpoint: endpoint, users: table, budget: appendCode ? budget : nil, share: UserShare(first: index, stride: connections),
                dnTemplate: dnTemplate, tickets: tickets)
        }
        let start = monotonicNanoseconds()
        let done = DispatchGroup()
        for worker in workers {
            done.enter()
            Thread {
                worker.run()
                done.leave()
            }.start()
        }
        done.wait()
        var counts = ReplyCounts()
        var latency = LatencyRecorder()
        for worker in workers {
            counts.add(worker.counts)
            latency.add(worker.latency)
        }
        try budget.save()
        let seconds = Double(max(workers.map(\.lastReply).max() ?? start, start) - start) / 1e9
        let report = LoadReport(
            label: label, workload: appendCode ? "ldap-bind+totp" : "ldap-bind", concurrency: connections, counts: counts,
            seconds: seconds, latency: latency)
        print(json ? report.json() : report.line)
    }
}

/// One connection: bind, check the BindResponse, bind again, until the tickets run out.
private final class LDAPBindWorker: @unchecked Sendable {
    let endpoint: (host: String, port: UInt16)
    let users: BenchUsers
    let budget: CodeBudget?
    var share: UserShare
    let dnTemplate: String
    let tickets: Tickets
    var counts = ReplyCounts()
    var latency = LatencyRecorder()
    var lastReply: UInt64 = 0

    init(
        endpoint: (host: String, port: UInt16), users: BenchUsers, budget: CodeBudget?, share: UserShare, dnTemplate: String,
        tickets: Tickets
    ) {
        self.endpoint = endpoint
        self.users = users
        self.budget = budget
        self.share = share
        self.dnTemplate = dnTemplate
        self.tickets = tickets
    }

    func run() {
        guard let connection = try? TCPConnection(endpoint) else {
            progress("ldap: cannot connect to \(endpoint.host):\(endpoint.port)")
            return
        }
        defer { connection.close() }
        var splitter = LDAPFrameSplitter()
        var messageID: Int32 = 0
        var buffer = [UInt8](repeating: 0, count: 65536)
        while tickets.take() {
            let user: Int
            var password: [UInt8]
            if let budget {
                guard let (chosen, code) = share.nextCode(users: users, budget: budget) else { return }
                user = chosen
                password = users.passwords[user] + Array(",".utf8) + code
            } else {
                user = share.nextAround(count: users.count)
                password = users.passwords[user]
            }
            messageID += 1
            let name = dnTemplate.replacingOccurrences(of: "{user}", with: String(decoding: users.names[user], as: UTF8.self))
            let request = LDAPMessage(
                messageID: messageID, protocolOp: .bindRequest(LDAPBindRequest(name: name, authentication: .simple(password: password))))
            let sentAt = monotonicNanoseconds()
            counts.sent += 1
            guard connection.send(request.encoded()) else {
                counts.lost += 1
                return
            }
            var reply: LDAPMessage?
            while reply == nil {
                guard let received = connection.receive(into: &buffer), let frames = try? splitter.append(buffer[0..<received]) else {
                    counts.lost += 1
                    return
                }
                reply = frames.lazy.compactMap { try? LDAPMessage(decoding: $0) }.first { $0.messageID == messageID }
            }
            let now = monotonicNanoseconds()
            lastReply = now
            latency.record(nanoseconds: now - sentAt)
            if case .bindResponse(let result, _) = reply?.protocolOp, result.resultCode == .success {
                counts.accepted += 1
            } else {
                counts.wrong += 1
            }
        }
    }
}

/// A blocking TCP connection with Nagle off (binds are small request/response pairs).
struct TCPConnection {
    let descriptor: Int32

    init(_ endpoint: (host: String, port: UInt16)) throws {
        descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var on: Int32 = 1
        setsockopt(descriptor, Int32(IPPROTO_TCP), TCP_NODELAY, &on, socklen_t(MemoryLayout<Int32>.size))
        var timeout = timeval(tv_sec: 30, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = try UDPSocket.address(endpoint.host, endpoint.port)
        guard withUnsafePointer(to: &address, { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }) == 0
        else {
            Glibc.close(descriptor)
            throw BenchError("connect \(endpoint.host):\(endpoint.port): \(String(cString: strerror(errno)))")
        }
    }

    func send(_ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { Glibc.send(descriptor, $0.baseAddress! + offset, $0.count - offset, Int32(MSG_NOSIGNAL)) }
            guard written > 0 else { return false }
            offset += written
        }
        return true
    }

    /// Bytes read into `buffer`; nil at end of stream or on error.
    func receive(into buffer: inout [UInt8]) -> Int? {
        let count = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
        return count > 0 ? count : nil
    }

    func close() { _ = Glibc.close(descriptor) }
}
