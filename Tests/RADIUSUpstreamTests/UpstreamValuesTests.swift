import Foundation
import RADIUSCodec
import Testing

@testable import RADIUSUpstream

@Suite("Upstream RADIUS: server health and Identifiers")
struct UpstreamValuesTests {
    @Test("a server without an answer is skipped for the dead time; when all are, all are asked")
    func health() {
        let start = Date(timeIntervalSince1970: 1_700_000_000)
        var health = UpstreamServerHealth(servers: 3, deadTime: 30)
        #expect(health.order(now: start) == [0, 1, 2])
        health.noAnswer(from: 0, now: start)
        #expect(health.order(now: start.addingTimeInterval(29.9)) == [1, 2])
        #expect(health.isDead(0, now: start.addingTimeInterval(29.9)))
        #expect(health.order(now: start.addingTimeInterval(30)) == [0, 1, 2])
        health.noAnswer(from: 1, now: start)
        health.noAnswer(from: 2, now: start)
        #expect(health.order(now: start.addingTimeInterval(1)) == [0, 1, 2])
        health.answered(by: 1)
        #expect(health.order(now: start.addingTimeInterval(1)) == [1])
    }

    @Test("256 Identifiers per socket, then another socket, then full until one is released")
    func identifiers() {
        var table = UpstreamIdentifierTable(maximumSockets: 2)
        #expect(table.reserve() == .reserved(.init(socket: 0, identifier: 0), opensSocket: true))
        for identifier in 1...255 {
            #expect(table.reserve() == .reserved(.init(socket: 0, identifier: UInt8(identifier)), opensSocket: false))
        }
        #expect(table.reserve() == .reserved(.init(socket: 1, identifier: 0), opensSocket: true))
        for _ in 1...255 { _ = table.reserve() }
        #expect(table.inFlight == 512)
        #expect(table.reserve() == .full)
        table.release(.init(socket: 0, identifier: 7))
        #expect(table.reserve() == .reserved(.init(socket: 0, identifier: 7), opensSocket: false))
        // The search resumes after the last one given: a released Identifier is not reused at once.
        table.release(.init(socket: 1, identifier: 3))
        table.release(.init(socket: 1, identifier: 200))
        table.release(.init(socket: 0, identifier: 7))
        #expect(table.reserve() == .reserved(.init(socket: 0, identifier: 7), opensSocket: false))
    }

    @Test("a reply is the request's only with its Identifier, a reply code and both authenticators right")
    func replyCheck() {
        let secret = Array("s3cret".utf8)
        let authenticator = [UInt8](repeating: 0x42, count: 16)
        let check = UpstreamReplyCheck(identifier: 9, requestAuthenticator: authenticator, secret: secret, requireMessageAuthenticator: true)
        let accept = RADIUSPacket.encodeReply(code: .accessAccept, identifier: 9, attributes: [], requestAuthenticator: authenticator, secret: secret)
        #expect(check.reply(accept)?.code == .accessAccept)
        let request = RADIUSPacket.encodeReply(code: .accessRequest, identifier: 9, attributes: [], requestAuthenticator: authenticator, secret: secret)
        #expect(check.reply(request) == nil)
        let unsigned = RADIUSPacket.encodeReply(
            code: .accessAccept, identifier: 9, attributes: [], requestAuthenticator: authenticator, secret: secret, messageAuthenticator: false)
        #expect(check.reply(unsigned) == nil)
        for length in 0..<accept.count { #expect(check.reply(Array(accept.prefix(length))) == nil) }
    }

    @Test("the request carries the password hidden with the server's secret and the State when answering")
    func requestEncoding() throws {
        let secret = Array("s3cret".utf8)
        let authenticator = SecureRandomBytes.sixteen
        let datagram = UpstreamAccessRequest(username: "dave", password: Array("pw".utf8), state: [1, 2, 3])
            .encoded(identifier: 200, authenticator: authenticator, secret: secret)
        let packet = try RADIUSPacket(decoding: datagram)
        #expect(packet.identifier == 200)
        #expect(packet.attributes.map(\.type) == [.messageAuthenticator, .userName, .userPassword, .nasIdentifier, .state])
        #expect(try RADIUSUserPassword.reveal(packet.attribute(.userPassword)!.value, secret: secret, requestAuthenticator: authenticator) == Array("pw".utf8))
        #expect(packet.attribute(.state)?.value == [1, 2, 3])
        #expect(RADIUSAuthenticators.checkMessageAuthenticator(raw: datagram, secret: secret) == .valid)
        #expect(!UpstreamAccessRequest(username: "", password: []).fitsInAttributes)
        #expect(!UpstreamAccessRequest(username: "x", password: Array(repeating: 0x41, count: 129)).fitsInAttributes)
    }
}

private enum SecureRandomBytes {
    static let sixteen: [UInt8] = (0..<16).map { UInt8($0 * 13 & 0xff) }
}
