import Foundation
import NIOCore
import NIOPosix
import NIOSSL

/// A RadSec client of the test's own (swift-nio-ssl), for what radsecproxy will not do: connect without a certificate
/// or with one from another CA, or send bytes that are no RADIUS.
struct RadSecTestClient {
    /// What came back on one connection before it closed (or `timeout` passed), and the error that ended it, if any.
    struct Exchange: Sendable {
        var received: [UInt8]
        var error: String?
        var closedByServer: Bool
    }

    var port: Int
    /// The CA that verifies the server's certificate.
    var serverCA: String
    /// The client certificate and key to present; nil presents none.
    var identity: (certificate: String, key: String)?
    var timeout = 10.0

    /// Connects, sends `bytes` (if any), and reads until a whole RADIUS packet came (by its Length field) or the server
    /// closed the connection.
    func exchange(_ bytes: [UInt8]) async throws -> Exchange {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.trustRoots = .file(serverCA)
        if let identity {
            configuration.certificateChain = try NIOSSLCertificate.fromPEMFile(identity.certificate).map { .certificate($0) }
            configuration.privateKey = .privateKey(try NIOSSLPrivateKey(file: identity.key, format: .pem))
        }
        let context = try NIOSSLContext(configuration: configuration)
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "127.0.0.1", port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: context, serverHostname: "localhost"))
                    return try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        let timeout = TestTimeout.scaled(self.timeout)
        return try await withThrowingTaskGroup(of: Exchange?.self) { group in
            group.addTask {
                try await channel.executeThenClose { inbound, outbound in
                    var exchange = Exchange(received: [], error: nil, closedByServer: false)
                    do {
                        if !bytes.isEmpty { try await outbound.write(ByteBuffer(bytes: bytes)) }
                        for try await chunk in inbound {
                            exchange.received += chunk.readableBytesView
                            let received = exchange.received
                            if received.count >= 4, received.count >= Int(received[2]) << 8 | Int(received[3]) { return exchange }
                        }
                        exchange.closedByServer = true
                    } catch {
                        exchange.error = "\(error)"
                        exchange.closedByServer = true
                    }
                    return exchange
                }
            }
            // Only a guard against a hang: the server answers or closes long before.
            group.addTask {
                try await Task.sleep(for: .seconds(timeout))
                return nil
            }
            let first = try await group.next() ?? nil
            group.cancelAll()
            if first == nil { channel.channel.close(promise: nil) }
            return first ?? Exchange(received: [], error: nil, closedByServer: false)
        }
    }
}
