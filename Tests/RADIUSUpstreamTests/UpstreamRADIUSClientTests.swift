import Crypto
import Foundation
import MFACore
import NIOCore
import RADIUSCodec
import Testing

@testable import RADIUSUpstream

@Suite("Upstream RADIUS client against a loopback server")
struct UpstreamRADIUSClientTests {
    static let secret = Array("upstream-secret".utf8)

    static func server(_ address: SocketAddress, timeout: Double = 5, requireMessageAuthenticator: Bool = false) -> UpstreamRADIUSClient.Server {
        UpstreamRADIUSClient.Server(
            address: address, label: "\(address)", secret: secret, timeout: .milliseconds(Int64(timeout * 1000)),
            requireMessageAuthenticator: requireMessageAuthenticator)
    }

    /// Accepts "right" and rejects anything else.
    static func checkingPassword(_ request: LoopbackRADIUSServer.Request) -> [[UInt8]] {
        let right = LoopbackRADIUSServer.password(request, secret: secret) == "right"
        return [LoopbackRADIUSServer.reply(right ? .accessAccept : .accessReject, to: request, secret: secret)]
    }

    @Test("the Access-Request: User-Name, the hidden password, NAS-Identifier, a valid Message-Authenticator first")
    func accessRequestOnTheWire() async throws {
        let upstream = try await LoopbackRADIUSServer(answer: Self.checkingPassword)
        let client = UpstreamRADIUSClient(servers: [Self.server(upstream.address)])
        let answered = await client.send(UpstreamAccessRequest(username: "carol", password: Array("right".utf8)))
        #expect(answered?.server == 0)
        #expect(answered?.reply.code == .accessAccept)
        let request = try #require(upstream.requests.first)
        #expect(request.packet.code == .accessRequest)
        #expect(request.packet.attributes.first?.type == .messageAuthenticator)
        #expect(RADIUSAuthenticators.checkMessageAuthenticator(raw: request.raw, secret: Self.secret) == .valid)
        #expect(request.packet.attribute(.userName)?.stringValue == "carol")
        #expect(request.packet.attribute(.nasIdentifier)?.stringValue == "countersign")
        #expect(request.packet.attribute(.state) == nil)
        #expect(LoopbackRADIUSServer.password(request, secret: Self.secret) == "right")
        let rejected = await client.send(UpstreamAccessRequest(username: "carol", password: Array("wrong".utf8)))
        #expect(rejected?.reply.code == .accessReject)
        // A fresh Request Authenticator each time (RFC 2865 §3).
        #expect(upstream.requests.count == 2)
        #expect(upstream.requests[0].packet.authenticator != upstream.requests[1].packet.authenticator)
        await client.close()
        await upstream.close()
    }

    @Test("replies with a wrong Response Authenticator, Message-Authenticator or Identifier are discarded; the right one is taken")
    func forgedRepliesAreDiscarded() async throws {
        let upstream = try await LoopbackRADIUSServer { request in
            let good = LoopbackRADIUSServer.reply(.accessAccept, to: request, secret: Self.secret)
            var badResponseAuthenticator = good
            badResponseAuthenticator[4] ^= 1
            let wrongSecret = LoopbackRADIUSServer.reply(.accessAccept, to: request, secret: Array("other".utf8))
            // A Message-Authenticator made with another secret under a right Response Authenticator.
            var badMessageAuthenticator = RADIUSPacket.encodeRequest(
                code: .accessAccept, identifier: request.packet.identifier, authenticator: request.packet.authenticator,
                attributes: [], secret: Array("other".utf8))
            var md5 = Insecure.MD5()
            md5.update(data: badMessageAuthenticator + Self.secret)
            badMessageAuthenticator.replaceSubrange(4..<20, with: Array(md5.finalize()))
            var otherIdentifier = request
            otherIdentifier.packet.identifier &+= 1
            let wrongIdentifier = LoopbackRADIUSServer.reply(.accessAccept, to: otherIdentifier, secret: Self.secret)
            let reject = LoopbackRADIUSServer.reply(.accessReject, to: request, secret: Self.secret)
            return [badResponseAuthenticator, wrongSecret, badMessageAuthenticator, wrongIdentifier, Array(good.prefix(19)), reject]
        }
        let client = UpstreamRADIUSClient(servers: [Self.server(upstream.address)])
        let answered = await client.send(UpstreamAccessRequest(username: "carol", password: Array("right".utf8)))
        #expect(answered?.reply.code == .accessReject)
        await client.close()
        await upstream.close()
    }

    @Test("a reply without Message-Authenticator is taken unless the server is required to send one")
    func missingMessageAuthenticator() async throws {
        let upstream = try await LoopbackRADIUSServer { request in
            [LoopbackRADIUSServer.reply(.accessAccept, to: request, secret: Self.secret, messageAuthenticator: false)]
        }
        let lenient = UpstreamRADIUSClient(servers: [Self.server(upstream.address)])
        #expect(await lenient.send(UpstreamAccessRequest(username: "carol", password: [])).map(\.reply.code) == .accessAccept)
        let strict = UpstreamRADIUSClient(servers: [Self.server(upstream.address, timeout: 0.3, requireMessageAuthenticator: true)])
        #expect(await strict.send(UpstreamAccessRequest(username: "carol", password: [])) == nil)
        await lenient.close()
        await strict.close()
        await upstream.close()
    }

    @Test("a server that does not answer is retried within its timeout, then the next is asked and it is skipped for 30 s")
    func failoverAndDeadServerSkip() async throws {
        let silent = try await LoopbackRADIUSServer { _ in [] }
        let answering = try await LoopbackRADIUSServer(answer: Self.checkingPassword)
        let clock = ManualWallClock()
        let client = UpstreamRADIUSClient(
            servers: [Self.server(silent.address, timeout: 0.3), Self.server(answering.address)], clock: clock, retransmits: 2)
        let first = await client.send(UpstreamAccessRequest(username: "carol", password: Array("right".utf8)))
        #expect(first?.server == 1)
        #expect(first?.reply.code == .accessAccept)
        // The first send and two retransmits of the same datagram (RFC 5080 §2.2.1: same Identifier and authenticator).
        #expect(silent.requests.count == 3)
        #expect(Set(silent.requests.map(\.raw)).count == 1)

        clock.advance(by: 29)
        let second = await client.send(UpstreamAccessRequest(username: "carol", password: Array("right".utf8)))
        #expect(second?.server == 1)
        #expect(silent.requests.count == 3)

        clock.advance(by: 2)
        let third = await client.send(UpstreamAccessRequest(username: "carol", password: Array("right".utf8)))
        #expect(third?.server == 1)
        #expect(silent.requests.count == 6)
        await client.close()
        await silent.close()
        await answering.close()
    }

    @Test("when every server is down, each is asked again and the request ends without a reply")
    func nobodyAnswers() async throws {
        let silent = try await LoopbackRADIUSServer { _ in [] }
        let clock = ManualWallClock()
        let client = UpstreamRADIUSClient(servers: [Self.server(silent.address, timeout: 0.2)], clock: clock, retransmits: 0)
        #expect(await client.send(UpstreamAccessRequest(username: "carol", password: [])) == nil)
        #expect(await client.send(UpstreamAccessRequest(username: "carol", password: [])) == nil)
        #expect(silent.requests.count == 2)
        await client.close()
        await silent.close()
    }

    @Test("more requests than Identifiers on one socket: a second socket, and past the limit they wait their turn")
    func manyRequestsInFlight() async throws {
        let upstream = try await LoopbackRADIUSServer(answer: Self.checkingPassword)
        let client = UpstreamRADIUSClient(servers: [Self.server(upstream.address)], maximumSocketsPerFamily: 2)
        let codes = await withTaskGroup(of: RADIUSCode?.self) { group in
            for index in 0..<600 {
                group.addTask {
                    await client.send(UpstreamAccessRequest(username: "user\(index)", password: Array("right".utf8)))?.reply.code
                }
            }
            return await group.reduce(into: []) { $0.append($1) }
        }
        #expect(codes.count == 600)
        #expect(codes.allSatisfy { $0 == .accessAccept })
        await client.close()
        await upstream.close()
    }
}
