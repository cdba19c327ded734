import Foundation
import MFACore

#if canImport(Glibc)
import Glibc
#endif

/// A bare UDP socket for the cases radclient cannot produce on demand: an exact retransmit (same Identifier and
/// Request Authenticator) and hand-made malformed packets.
final class UDPTestClient: @unchecked Sendable {
    private let fd: Int32
    private var destination = sockaddr_in()

    /// `receiveTimeout` is generous, as for radclient: the whole suite runs in parallel on a small machine; tests that
    /// expect silence pass a short one to `receive`.
    init(port: Int, receiveTimeout: TimeInterval = 10) throws {
        fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        guard fd >= 0 else { throw POSIXError(.EIO) }
        setReceiveTimeout(receiveTimeout)
        destination.sin_family = sa_family_t(AF_INET)
        destination.sin_port = in_port_t(UInt16(port).bigEndian)
        inet_pton(AF_INET, "127.0.0.1", &destination.sin_addr)
    }

    deinit { close(fd) }

    /// A UDP port of 127.0.0.1 that was free a moment ago, for tests of fixed ports.
    static func freePort() throws -> Int { try freeLoopbackPort(type: Int32(SOCK_DGRAM.rawValue)) }

    /// Scaled by `TestTimeout`.
    func setReceiveTimeout(_ seconds: TimeInterval) {
        TestTimeout.setReceiveTimeout(fd, seconds)
    }

    func send(_ bytes: [UInt8]) {
        var address = destination
        _ = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                sendto(fd, bytes, bytes.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
    }

    /// The next datagram, or nil when none arrives within the receive timeout.
    func receive(timeout: TimeInterval? = nil) async throws -> [UInt8]? {
        if let timeout { setReceiveTimeout(timeout) }
        return try await offCooperativePool { self.receiveBlocking() }
    }

    /// `receive` for a test's own thread (a load generator), never on the cooperative pool.
    func receiveBlocking() -> [UInt8]? {
        var buffer = [UInt8](repeating: 0, count: 4096)
        let count = recv(fd, &buffer, buffer.count, 0)
        return count > 0 ? Array(buffer[..<count]) : nil
    }
}

/// A port of 127.0.0.1 that is free for a socket of `type` now and that nothing else will take before the test
/// binds it: picked below the kernel's ephemeral range (32768–60999 on Linux), where outgoing connections of other
/// tests never land, and never handed out twice in one test run.
func freeLoopbackPort(type: Int32) throws -> Int {
    for _ in 0..<200 {
        let port = Int.random(in: 20000..<32768)
        guard handedOutPorts.withLock({ $0.insert(port).inserted }) else { continue }
        if loopbackPortIsFree(port, type: type) { return port }
    }
    throw POSIXError(.EADDRINUSE)
}

private let handedOutPorts = Locked(Set<Int>())

private func loopbackPortIsFree(_ port: Int, type: Int32) -> Bool {
    let probe = socket(AF_INET, type, 0)
    guard probe >= 0 else { return false }
    defer { close(probe) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    inet_pton(AF_INET, "127.0.0.1", &address.sin_addr)
    return withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(probe, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
    }
}
