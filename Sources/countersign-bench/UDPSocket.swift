import Foundation

/// A non-blocking IPv4 UDP socket, straight on the system calls: the generator must cost less than the servers it
/// measures, so no event loop sits between it and the kernel.
struct UDPSocket {
    let descriptor: Int32

    /// A socket bound to `source` (port 0) and connected to `server`, or bound to `listen` when `server` is nil.
    init(source: String = "0.0.0.0", port: UInt16 = 0, server: (host: String, port: UInt16)? = nil, reusePort: Bool = false) throws {
        descriptor = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        guard descriptor >= 0 else { throw BenchError("socket: \(String(cString: strerror(errno)))") }
        var on: Int32 = 1
        if reusePort { setsockopt(descriptor, SOL_SOCKET, SO_REUSEPORT, &on, socklen_t(MemoryLayout<Int32>.size)) }
        var buffer: Int32 = 4 << 20
        setsockopt(descriptor, SOL_SOCKET, SO_RCVBUF, &buffer, socklen_t(MemoryLayout<Int32>.size))
        setsockopt(descriptor, SOL_SOCKET, SO_SNDBUF, &buffer, socklen_t(MemoryLayout<Int32>.size))
        var local = try Self.address(source, port)
        guard withUnsafePointer(to: &local, { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }) == 0
        else { throw BenchError("bind \(source):\(port): \(String(cString: strerror(errno)))") }
        if let server {
            var remote = try Self.address(server.host, server.port)
            guard withUnsafePointer(to: &remote, { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }) == 0
            else { throw BenchError("connect \(server.host):\(server.port): \(String(cString: strerror(errno)))") }
        }
        _ = fcntl(descriptor, F_SETFL, fcntl(descriptor, F_GETFL) | O_NONBLOCK)
    }

    static func address(_ host: String, _ port: UInt16) throws -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        guard inet_pton(AF_INET, host, &address.sin_addr) == 1 else { throw BenchError("\(host) is not an IPv4 address") }
        return address
    }

    /// Sends on the connected socket; waits out a full send buffer (loopback drains it within microseconds).
    func send(_ bytes: [UInt8]) {
        while bytes.withUnsafeBytes({ Glibc.send(descriptor, $0.baseAddress, $0.count, 0) }) < 0, errno == EAGAIN || errno == EINTR {
            var descriptorSet = pollfd(fd: descriptor, events: Int16(POLLOUT), revents: 0)
            _ = poll(&descriptorSet, 1, 1)
        }
    }

    /// One datagram into `buffer`, or nil when none is waiting.
    func receive(into buffer: UnsafeMutableRawBufferPointer) -> Int? {
        let count = recv(descriptor, buffer.baseAddress, buffer.count, 0)
        return count >= 0 ? count : nil
    }

    func close() { _ = Glibc.close(descriptor) }
}

/// "host:port" for IPv4 literals.
func parseHostPort(_ text: String) throws -> (host: String, port: UInt16) {
    guard let colon = text.lastIndex(of: ":"), let port = UInt16(text[text.index(after: colon)...]) else {
        throw BenchError("\(text): expected host:port")
    }
    return (String(text[..<colon]), port)
}
