import Foundation

/// Runs FreeRADIUS's `radclient` (freeradius-utils), the real peer a VPN concentrator stands for.
struct Radclient {
    struct Reply {
        /// "Access-Accept", "Access-Reject", "Access-Challenge", or nil when no reply came.
        var code: String?
        /// The received attributes as radclient prints them, name → values in order.
        var attributes: [(name: String, value: String)]
        var output: String
        var exitCode: Int32

        func values(_ name: String) -> [String] { attributes.filter { $0.name == name }.map(\.value) }
        func value(_ name: String) -> String? { values(name).first }
    }

    static let path = "/usr/bin/radclient"

    var server: String
    var secret: String
    /// Generous: the whole suite runs in parallel on a small machine. Tests that expect silence pass a short one.
    /// Scaled by `TestTimeout` when radclient runs.
    var timeout = 5.0
    var retries = 1

    /// Sends one request; `attributes` are radclient's `Name = value` lines.
    func send(_ attributes: [String], command: String = "auth") async throws -> Reply {
        let radclient = self
        return try await offCooperativePool { try radclient.sendBlocking(attributes, command: command) }
    }

    private func sendBlocking(_ attributes: [String], command: String) throws -> Reply {
        let family = server.hasPrefix("[") ? "-6" : "-4"
        let input = try ChildPipe()
        let output = try ChildPipe()
        let process: SpawnedProcess
        do {
            defer {
                close(input.read)
                close(output.write)
            }
            process = try SpawnedProcess(
                Self.path, ["-x", family, "-r", "\(retries)", "-t", "\(TestTimeout.scaled(timeout))", server, command, secret],
                input: input.read, output: output.write)
        }
        writePipe(input.write, Array(attributes.joined(separator: "\n").utf8) + [UInt8(ascii: "\n")])
        close(input.write)
        let data = readPipeToEnd(output.read)
        close(output.read)
        let status = process.waitUntilExit()
        return Self.parse(String(decoding: data, as: UTF8.self), exitCode: status)
    }

    /// A double-quoted radclient string.
    static func quoted(_ text: String) -> String {
        "\"" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }

    static func parse(_ output: String, exitCode: Int32) -> Reply {
        var reply = Reply(code: nil, attributes: [], output: output, exitCode: exitCode)
        var inReply = false
        for line in output.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("Received ") {
                inReply = true
                reply.code = line.split(separator: " ").dropFirst().first.map(String.init)
            } else if line.hasPrefix("Sent ") || line.hasPrefix("(") {
                inReply = false
            } else if inReply, line.hasPrefix("\t"), let equals = line.range(of: " = ") {
                let name = line[..<equals.lowerBound].trimmingCharacters(in: .whitespaces)
                var value = String(line[equals.upperBound...])
                if value.hasPrefix("\""), value.hasSuffix("\""), value.count >= 2 { value = String(value.dropFirst().dropLast()) }
                reply.attributes.append((name, value))
            }
        }
        return reply
    }
}

/// Runs blocking work (a child process, a socket read) on a thread of its own. Not on Dispatch's global pool: on
/// Linux the cooperative pool shares it, and the gateway under test needs those few threads.
func offCooperativePool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread { continuation.resume(with: Result { try body() }) }.start()
    }
}
