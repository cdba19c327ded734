import Foundation
import RADIUSCodec

#if canImport(Glibc)
import Glibc
#endif

/// A misbehaving NAS: Access-Requests with valid authenticators (right secret, Message-Authenticator) for random
/// unknown users with a wrong password, from `source` (a loopback address of its own), at a fixed rate. Each reply is
/// matched to its request by socket, Identifier and Response Authenticator, so a reply to a request that waited
/// is seen with its true age. Runs on a thread of its own, bounded in count and time.
final class RADIUSFlood: @unchecked Sendable {
    struct Report: Sendable {
        var sent = 0
        var answered = 0
        /// The oldest request that got a reply, in seconds from its send.
        var oldestAnswered: TimeInterval = 0
        /// Replies that match no request still on record (a request older than a whole cycle of Identifiers).
        var unmatched = 0
    }

    private struct Outstanding {
        var sent: TimeInterval
        var authenticator: [UInt8]
    }

    private let sockets: [Int32]
    private var destination = sockaddr_in()
    private let secret: [UInt8]

    /// `sockets` source ports, 256 Identifiers each: at 1,000 requests a second, an Identifier comes round again only
    /// after `sockets` × 0.256 s, longer than any wait this flood is to measure.
    init(source: String, port: Int, secret: String, sockets count: Int = 64) throws {
        self.secret = Array(secret.utf8)
        var sockets: [Int32] = []
        for _ in 0..<count {
            let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
            guard fd >= 0 else { throw POSIXError(.EIO) }
            var local = sockaddr_in()
            local.sin_family = sa_family_t(AF_INET)
            inet_pton(AF_INET, source, &local.sin_addr)
            let bound = withUnsafePointer(to: &local) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard bound == 0 else { throw POSIXError(.EADDRNOTAVAIL) }
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            sockets.append(fd)
        }
        self.sockets = sockets
        destination.sin_family = sa_family_t(AF_INET)
        destination.sin_port = in_port_t(UInt16(port).bigEndian)
        inet_pton(AF_INET, "127.0.0.1", &destination.sin_addr)
    }

    deinit { for fd in sockets { close(fd) } }

    /// Floods for `duration` seconds at `rate` requests a second, then listens `linger` seconds more for late replies.
    func run(rate: Int, duration: TimeInterval, linger: TimeInterval) async -> Report {
        await withCheckedContinuation { continuation in
            Thread { continuation.resume(returning: self.runBlocking(rate: rate, duration: duration, linger: linger)) }.start()
        }
    }

    private func runBlocking(rate: Int, duration: TimeInterval, linger: TimeInterval) -> Report {
        var report = Report()
        var outstanding: [Int: Outstanding] = [:]  // socket index << 8 | Identifier
        let start = Self.now()
        let tick = 0.01
        var next = start
        var sequence = 0
        while Self.now() < start + duration + linger {
            if Self.now() >= next, Self.now() < start + duration {
                for _ in 0..<max(1, Int(Double(rate) * tick)) {
                    let index = sequence % sockets.count
                    let identifier = UInt8((sequence / sockets.count) % 256)
                    sequence += 1
                    let authenticator = (0..<16).map { _ in UInt8.random(in: 0...255) }
                    let packet = request(identifier: identifier, authenticator: authenticator)
                    var address = destination
                    let written = withUnsafePointer(to: &address) {
                        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                            sendto(sockets[index], packet, packet.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                        }
                    }
                    guard written == packet.count else { continue }
                    report.sent += 1
                    outstanding[index << 8 | Int(identifier)] = Outstanding(sent: Self.now(), authenticator: authenticator)
                }
                next += tick
            }
            receiveAvailable(into: &report, outstanding: &outstanding, waitMilliseconds: 2)
        }
        return report
    }

    private func receiveAvailable(into report: inout Report, outstanding: inout [Int: Outstanding], waitMilliseconds: Int32) {
        var descriptors = sockets.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
        guard poll(&descriptors, nfds_t(descriptors.count), waitMilliseconds) > 0 else { return }
        var buffer = [UInt8](repeating: 0, count: 4096)
        for (index, descriptor) in descriptors.enumerated() where descriptor.revents & Int16(POLLIN) != 0 {
            while true {
                let count = recv(sockets[index], &buffer, buffer.count, 0)
                guard count >= 20 else { break }
                let reply = Array(buffer[..<count])
                let key = index << 8 | Int(reply[1])
                guard let request = outstanding[key],
                    RADIUSAuthenticators.verifyResponseAuthenticator(raw: reply, requestAuthenticator: request.authenticator, secret: secret)
                else {
                    report.unmatched += 1
                    continue
                }
                outstanding[key] = nil
                report.answered += 1
                report.oldestAnswered = max(report.oldestAnswered, Self.now() - request.sent)
            }
        }
    }

    /// An Access-Request; by default for an unknown user with a wrong password.
    private func request(
        identifier: UInt8, authenticator: [UInt8], user: String = "flood-\(UInt32.random(in: 0...UInt32.max))",
        password: String = "wrong-password"
    ) -> [UInt8] {
        let hidden = RADIUSUserPassword.hide(Array(password.utf8), secret: secret, requestAuthenticator: authenticator)
        return RADIUSPacket.encodeRequest(
            code: .accessRequest, identifier: identifier, authenticator: authenticator,
            attributes: [RADIUSAttribute(type: .userName, string: user), RADIUSAttribute(type: .userPassword, value: hidden)],
            secret: secret)
    }

    /// Sends one valid login from the flood's first socket and waits up to `timeout` for its reply's code.
    func login(user: String, password: String, timeout: TimeInterval) async -> RADIUSCode? {
        await withCheckedContinuation { continuation in
            Thread {
                let authenticator = (0..<16).map { _ in UInt8.random(in: 0...255) }
                let packet = self.request(identifier: 0xfe, authenticator: authenticator, user: user, password: password)
                var address = self.destination
                _ = withUnsafePointer(to: &address) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                        sendto(self.sockets[0], packet, packet.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                    }
                }
                let deadline = Self.now() + timeout
                var buffer = [UInt8](repeating: 0, count: 4096)
                var code: RADIUSCode?
                while code == nil, Self.now() < deadline {
                    var descriptor = pollfd(fd: self.sockets[0], events: Int16(POLLIN), revents: 0)
                    guard poll(&descriptor, 1, 50) > 0 else { continue }
                    let count = recv(self.sockets[0], &buffer, buffer.count, 0)
                    guard count >= 20, buffer[1] == 0xfe,
                        RADIUSAuthenticators.verifyResponseAuthenticator(
                            raw: buffer[..<count], requestAuthenticator: authenticator, secret: self.secret)
                    else { continue }
                    code = try? RADIUSPacket(decoding: buffer[..<count]).code
                }
                continuation.resume(returning: code)
            }.start()
        }
    }

    private static func now() -> TimeInterval {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return TimeInterval(spec.tv_sec) + TimeInterval(spec.tv_nsec) / 1e9
    }
}
