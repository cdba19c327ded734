import CountersignConfig
import Logging
import MFACore
import NIOCore
import NIOEmbedded
import NIOTLS
import RADIUSCodec
import ServerSupport
import Testing

@testable import RADIUSServer

/// Which RadSec client a connection is, and how many connections may be open.
@Suite struct RadSecConnectionTests {
    static func client(_ name: String, _ network: String, certificateName: String? = nil) -> RADIUSClient {
        RADIUSClient(
            RADIUSClientSettings(
                name: name, network: IPNetwork(network)!, secret: "radsec", requireMessageAuthenticator: false, transport: .tls,
                certificateName: certificateName))
    }

    @Test func theLongestPrefixWhoseCertificateNameMatchesIsTheClient() {
        let table = RADIUSClientTable([
            Self.client("site", "10.0.0.0/8"),
            Self.client("vpn-a", "10.1.0.0/16", certificateName: "VPN-A.example.org"),
            Self.client("vpn-b", "10.1.0.0/16", certificateName: "vpn-b.example.org"),
        ])
        let address: [UInt8] = [10, 1, 2, 3]
        #expect(table.knows(address))
        #expect(!table.knows([192, 0, 2, 1]))
        // DNS names compare without case.
        #expect(table.client(for: address, certificateNames: ["vpn-a.example.org"])?.name == "vpn-a")
        #expect(table.client(for: address, certificateNames: ["other", "vpn-b.example.org"])?.name == "vpn-b")
        // No name matches: the shorter prefix without a certificate name takes it.
        #expect(table.client(for: address, certificateNames: ["intruder"])?.name == "site")
        #expect(table.client(for: [192, 0, 2, 1], certificateNames: ["vpn-a.example.org"]) == nil)

        let named = RADIUSClientTable([Self.client("vpn-a", "10.1.0.0/16", certificateName: "vpn-a.example.org")])
        #expect(named.client(for: address, certificateNames: []) == nil)
    }

    @Test func connectionsAreCappedInAllAndPerAddress() {
        let connections = RadSecConnections(maximum: 3, maximumPerAddress: 2)
        let channels = (0..<4).map { _ in EmbeddedChannel() }
        let first: [UInt8] = [10, 0, 0, 1]
        let second: [UInt8] = [10, 0, 0, 2]
        #expect(connections.opened(channels[0], from: first))
        #expect(connections.opened(channels[1], from: first))
        #expect(!connections.opened(channels[2], from: first))
        #expect(connections.opened(channels[2], from: second))
        #expect(!connections.opened(channels[3], from: second))
        #expect(connections.count == 3)
        connections.closed(channels[0], from: first)
        // A second close of the same connection changes nothing.
        connections.closed(channels[0], from: first)
        #expect(connections.count == 2)
        #expect(connections.opened(channels[3], from: first))
        #expect(!connections.opened(channels[0], from: first))
    }

    /// Holds each login until the test gives its verdict.
    final class HeldAuthenticator: LoginAuthenticator {
        private let waiting = Locked<[CheckedContinuation<Verdict, Never>]>([])
        private let arrivals = AsyncStream<Void>.makeStream()

        func authenticate(_ attempt: LoginAttempt) async -> Verdict {
            await withCheckedContinuation { continuation in
                waiting.withLock { $0.append(continuation) }
                arrivals.continuation.yield()
            }
        }

        func nextArrival() async {
            var iterator = arrivals.stream.makeAsyncIterator()
            _ = await iterator.next()
        }

        func answer(_ verdict: Verdict) {
            let held = waiting.withLock { waiting in
                defer { waiting = [] }
                return waiting
            }
            for continuation in held { continuation.resume(returning: verdict) }
        }
    }

    @Test func anIdleConnectionIsClosedButNotWhileALoginWaits() async throws {
        let authenticator = HeldAuthenticator()
        let logger = Logger(label: "test")
        let loop = RADIUSRequestLoop(
            delimiter: ",", duplicateWindow: .seconds(30), authenticator: authenticator, clock: SystemWallClock(), audit: nil,
            inFlight: InFlightRequests(), drops: DropReport(logger: logger), counters: nil, availability: nil,
            replyRules: RADIUSReplyRules(), logger: logger)
        let source = try SocketAddress(ipAddress: "127.0.0.1", port: 40000)
        let channel = NIOAsyncTestingChannel()
        try await channel.pipeline.addHandler(
            RadSecConnectionHandler(
                clients: RADIUSClientTable([Self.client("vpn", "127.0.0.0/8")]), source: source, loop: loop,
                refusalLog: Occasionally(every: .seconds(10)), logger: logger))
        try await channel.connect(to: source)
        // No TLS handler here: no certificate names, which a client without certificate_name does not need.
        channel.pipeline.fireUserInboundEventTriggered(TLSUserEvent.handshakeCompleted(negotiatedProtocol: nil))

        // RFC 6614 §2.3's secret; no Message-Authenticator, which the client does not require.
        let secret = Array("radsec".utf8)
        let authenticatorBytes = [UInt8](repeating: 5, count: 16)
        let hidden = RADIUSUserPassword.hide(Array("pw,123456".utf8), secret: secret, requestAuthenticator: authenticatorBytes)
        let packet = RADIUSPacket.encodeRequest(
            code: .accessRequest, identifier: 3, authenticator: authenticatorBytes,
            attributes: [RADIUSAttribute(type: .userName, string: "alice"), RADIUSAttribute(type: .userPassword, value: hidden)],
            secret: secret)
        try await channel.writeInbound(ByteBuffer(bytes: packet))
        // The login's task runs on the channel's loop, which runs what is queued when told to.
        await channel.testingEventLoop.run()
        await authenticator.nextArrival()

        channel.pipeline.fireUserInboundEventTriggered(IdleStateHandler.IdleStateEvent.all)
        await channel.testingEventLoop.run()
        #expect(channel.isActive)
        authenticator.answer(.accept)
        await channel.testingEventLoop.run()
        let reply = try RADIUSPacket(decoding: Array(try await channel.waitForOutboundWrite(as: ByteBuffer.self).readableBytesView))
        #expect(reply.code == .accessAccept && reply.identifier == 3)

        channel.pipeline.fireUserInboundEventTriggered(IdleStateHandler.IdleStateEvent.all)
        await channel.testingEventLoop.run()
        #expect(!channel.isActive)
    }
}
