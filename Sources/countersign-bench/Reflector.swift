import Foundation
import RADIUSCodec

/// The cheapest correct RADIUS server: every Access-Request and Status-Server gets an Access-Accept with a valid
/// Message-Authenticator and Response Authenticator. The generator against it shows the generator's own ceiling
/// on this machine: a server cannot be measured faster than that.
struct Reflector {
    var listen: (host: String, port: UInt16)
    var secret: [UInt8]
    var threads: Int

    func run() throws -> Never {
        // One socket per thread on the same port (SO_REUSEPORT): the kernel spreads the generator's sockets over them.
        let sockets = try (0..<max(1, threads)).map { _ in
            try UDPSocket(source: listen.host, port: listen.port, reusePort: true)
        }
        progress("reflector on \(listen.host):\(listen.port), \(sockets.count) thread(s)")
        for socket in sockets.dropFirst() { Thread { serve(socket) }.start() }
        serve(sockets[0])
    }

    private func serve(_ socket: UDPSocket) -> Never {
        var buffer = [UInt8](repeating: 0, count: 4096)
        var peer = sockaddr_storage()
        var descriptor = pollfd(fd: socket.descriptor, events: Int16(POLLIN), revents: 0)
        while true {
            _ = poll(&descriptor, 1, 1000)
            while true {
                var peerLength = socklen_t(MemoryLayout<sockaddr_storage>.size)
                let count = buffer.withUnsafeMutableBytes { bytes in
                    withUnsafeMutablePointer(to: &peer) {
                        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { recvfrom(socket.descriptor, bytes.baseAddress, 4096, 0, $0, &peerLength) }
                    }
                }
                guard count >= 20 else { break }
                let reply = RADIUSPacket.encodeReply(
                    code: .accessAccept, identifier: buffer[1], attributes: [], requestAuthenticator: Array(buffer[4..<20]),
                    secret: secret)
                _ = reply.withUnsafeBytes { bytes in
                    withUnsafePointer(to: &peer) {
                        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(socket.descriptor, bytes.baseAddress, bytes.count, 0, $0, peerLength) }
                    }
                }
            }
        }
    }
}
