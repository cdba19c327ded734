import CountersignConfig
import Foundation
import LDAPCodec
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Malformed and hostile LDAP input over the proxy's real TCP port, in front of a real slapd. Each input gets what
/// RFC 4511 calls for — a Notice of Disconnection (protocolError) and the end of that connection (§4.1.1, §4.4.1),
/// or the right result on a connection that stays usable — and after each one a fresh connection's ldapwhoami as
/// the exempt service account still works.
///
/// Memory: the framing checks a message's announced length against `ldap.max_message_size` before buffering any of
/// its body (see LDAPFrameSplitterTests), at most 16 operations are held during a bind, and every connection that
/// sent bad input is closed here (asserted), which frees its buffers. Process memory (RSS) is left to the benchmark.
@Suite struct MalformedLDAPTests {
    /// Small enough that an over-the-cap message can be sent whole.
    static let maximumMessageSize = 1024

    enum Expected: Sendable {
        /// One Notice of Disconnection with protocolError (from the proxy, or passed on from the directory), then the
        /// connection closes.
        case notice
        /// These answers (messageID, protocolOp tag, resultCode), then the connection still serves a bind.
        case answers([Answer])
        /// We close our side after sending; the proxy closes too without a word.
        case closesSilently
        /// We close our side after sending; the proxy closes too (an answer already under way may come first).
        case closes
    }

    struct Answer: Sendable {
        var messageID: Int32
        var tag: UInt
        var resultCode: LDAPResultCode
    }

    struct Case: Sendable {
        let name: String
        let bytes: [UInt8]
        let expected: Expected

        init(_ name: String, _ bytes: [UInt8], _ expected: Expected) {
            self.name = name
            self.bytes = bytes
            self.expected = expected
        }
    }

    // MARK: BER by hand

    static func length(_ count: Int) -> [UInt8] {
        guard count >= 0x80 else { return [UInt8(count)] }
        var octets: [UInt8] = []
        var rest = count
        while rest > 0 {
            octets.insert(UInt8(rest & 0xFF), at: 0)
            rest >>= 8
        }
        return [0x80 | UInt8(octets.count)] + octets
    }

    static func tlv(_ tag: UInt8, _ content: [UInt8]) -> [UInt8] { [tag] + length(content.count) + content }
    static func tlv(_ tag: UInt8, _ text: String) -> [UInt8] { tlv(tag, Array(text.utf8)) }

    /// A minimal two's-complement INTEGER.
    static func integer(_ value: Int) -> [UInt8] {
        var octets = withUnsafeBytes(of: value.bigEndian) { Array($0) }
        while octets.count > 1, (octets[0] == 0x00 && octets[1] & 0x80 == 0) || (octets[0] == 0xFF && octets[1] & 0x80 != 0) {
            octets.removeFirst()
        }
        return tlv(0x02, octets)
    }

    static func message(_ id: Int, _ op: [UInt8]) -> [UInt8] { tlv(0x30, integer(id) + op) }
    static func message(rawID: [UInt8], _ op: [UInt8]) -> [UInt8] { tlv(0x30, rawID + op) }

    static func simpleBind(version: Int = 3, _ dn: String, _ password: String) -> [UInt8] {
        tlv(0x60, integer(version) + tlv(0x04, dn) + tlv(0x80, password))
    }

    static func saslBind(_ mechanism: String, credentials: [UInt8]? = nil) -> [UInt8] {
        tlv(0x60, integer(3) + tlv(0x04, "") + tlv(0xA3, tlv(0x04, mechanism) + (credentials.map { tlv(0x04, $0) } ?? [])))
    }

    static let unbind: [UInt8] = [0x42, 0x00]

    static func search(_ id: Int32, value: String = "bob") -> [UInt8] {
        LDAPMessage.searchForEntry(messageID: id, base: TestDirectory.base, attribute: "uid", value: value).encoded()
    }

    /// A SearchRequest whose filter is `depth` nested and-filters around (uid=bob).
    static func deeplyNestedSearch(depth: Int) -> [UInt8] {
        var filter = tlv(0xA3, tlv(0x04, "uid") + tlv(0x04, "bob"))
        for _ in 0..<depth { filter = tlv(0xA0, filter) }
        let request = tlv(
            0x63,
            tlv(0x04, TestDirectory.base) + tlv(0x0A, [2]) + tlv(0x0A, [0]) + integer(0) + integer(0) + tlv(0x01, [0]) + filter
                + tlv(0x30, []))
        return message(5, request)
    }

    static let serviceBind = simpleBind(TestDirectory.serviceDN, "app-pw")
    static let v2Bind = message(1, simpleBind(version: 2, TestDirectory.serviceDN, "app-pw"))

    /// `bytes` with the octet at `index` changed by `delta` (a length octet that lies).
    static func adjusted(_ bytes: [UInt8], at index: Int, by delta: Int) -> [UInt8] {
        var out = bytes
        out[index] = UInt8(Int(out[index]) + delta)
        return out
    }

    // MARK: The cases

    static let cases: [Case] = [
        // RFC 4511 §5.1 framing: one SEQUENCE with a definite length, checked before anything is buffered.
        Case("HTTP request", Array("GET / HTTP/1.1\r\nHost: x\r\n\r\n".utf8), .notice),
        Case("64 octets of 0xFF", [UInt8](repeating: 0xFF, count: 64), .notice),
        Case("two zero octets", [0x00, 0x00], .notice),
        Case("outer tag SET", tlv(0x31, integer(1) + unbind), .notice),
        Case("bare BindRequest without the LDAPMessage", simpleBind(TestDirectory.serviceDN, "app-pw"), .notice),
        Case("outer tag in high-tag-number form", [0x3F, 0x81, 0x00, 0x00], .notice),
        Case("length 2^31", [0x30, 0x84, 0x80, 0x00, 0x00, 0x00], .notice),
        Case("length 2^32-1", [0x30, 0x84, 0xFF, 0xFF, 0xFF, 0xFF], .notice),
        Case("five length octets", [0x30, 0x85, 0x00, 0x00, 0x00, 0x00, 0x10], .notice),
        Case("127 length octets", [0x30, 0xFF] + [UInt8](repeating: 0x01, count: 16), .notice),
        Case("indefinite outer length", [0x30, 0x80, 0x02, 0x01, 0x01, 0x42, 0x00, 0x00, 0x00], .notice),
        Case(
            "indefinite length inside",
            tlv(0x30, integer(1) + [0x60, 0x80] + integer(3) + tlv(0x04, "") + tlv(0x80, "") + [0x00, 0x00]), .notice),
        Case("header announcing more than the cap", [0x30, 0x82, 0x04, 0x01], .notice),
        Case("whole message over the cap", search(3, value: String(repeating: "x", count: 1100)), .notice),

        // RFC 4511 §4.1.1: the messageID.
        Case("messageID -1", message(-1, unbind), .notice),
        Case("messageID 2^31", message(rawID: [0x02, 0x05, 0x00, 0x80, 0x00, 0x00, 0x00], unbind), .notice),
        Case("messageID 2^64", message(rawID: [0x02, 0x09, 0x01] + [UInt8](repeating: 0, count: 8), unbind), .notice),
        Case("messageID not minimally encoded", message(rawID: [0x02, 0x02, 0x00, 0x01], unbind), .notice),
        Case("messageID of zero octets", message(rawID: [0x02, 0x00], unbind), .notice),
        Case("messageID length past the message", [0x30, 0x03, 0x02, 0x05, 0x01], .notice),

        // Lengths that lie inside the message, and structure that is not an LDAPMessage.
        Case("BindRequest longer than its message", adjusted(v2Bind, at: 6, by: 10), .notice),
        Case("BindRequest shorter than its content", adjusted(v2Bind, at: 6, by: -2), .notice),
        Case("stray octet after the protocolOp", tlv(0x30, integer(1) + unbind + [0xAA]), .notice),
        Case("trailing element after the protocolOp", tlv(0x30, integer(1) + unbind + tlv(0x04, "")), .notice),
        Case("empty SEQUENCE", [0x30, 0x00], .notice),
        Case("messageID and no protocolOp", tlv(0x30, integer(1)), .notice),
        Case("protocolOp without an APPLICATION tag", message(1, tlv(0x04, "")), .notice),
        Case("controls in primitive form", tlv(0x30, integer(1) + unbind + tlv(0x80, [])), .notice),
        Case("filter nested 60 deep", deeplyNestedSearch(depth: 60), .notice),
        Case("SEQUENCEs nested 60 deep", message(1, (0..<60).reduce(tlv(0x04, "")) { inner, _ in tlv(0x30, inner) }), .notice),
        Case("UnbindRequest with content", message(1, [0x42, 0x01, 0x00]), .notice),

        // RFC 4511 §4.2 BindRequest: version INTEGER (1 .. 127), LDAPDN in UTF-8, simple [0] or sasl [3].
        Case("bind version 0", message(1, simpleBind(version: 0, TestDirectory.serviceDN, "app-pw")), .notice),
        Case("bind version 128", message(1, simpleBind(version: 128, TestDirectory.serviceDN, "app-pw")), .notice),
        Case("bind DN of invalid UTF-8", message(1, tlv(0x60, integer(3) + tlv(0x04, [0x63, 0x6E, 0x3D, 0xFF, 0xFE]) + tlv(0x80, "x"))), .notice),
        Case("bind with the reserved choice [1]", message(1, tlv(0x60, integer(3) + tlv(0x04, "cn=x") + tlv(0x81, "x"))), .notice),
        Case("simple password in constructed form", message(1, tlv(0x60, integer(3) + tlv(0x04, "cn=x") + tlv(0xA0, tlv(0x04, "x")))), .notice),
        // The splitter drops requests completed in the same read as the error: none of them is acted on.
        Case("valid bind followed by garbage", v2Bind + [0xFF, 0xFF], .notice),
        // Passed through; the directory answers "unknown LDAP request" with its own Notice (RFC 4511 §4.1.1).
        Case("unknown protocolOp [APPLICATION 30]", message(1, [0x5E, 0x00]), .notice),
        Case("a BindResponse sent by the client", message(1, tlv(0x61, tlv(0x0A, [0]) + tlv(0x04, "") + tlv(0x04, ""))), .notice),
        // RFC 4511 §4.2.1: nothing should follow a bind until it is answered; what does is held, at most 16.
        Case(
            "17 searches while a bind is being decided",
            message(1, simpleBind(TestDirectory.userDN("alice"), "alice-pw,123456")) + (2...18).flatMap { search(Int32($0)) },
            .notice),

        // Answers on a connection that stays usable.
        Case("bind version 2", v2Bind, .answers([Answer(messageID: 1, tag: 1, resultCode: .protocolError)])),
        Case(
            "bind version 1", message(7, simpleBind(version: 1, TestDirectory.serviceDN, "app-pw")),
            .answers([Answer(messageID: 7, tag: 1, resultCode: .protocolError)])),
        Case(
            "bind version 127", message(8, simpleBind(version: 127, TestDirectory.serviceDN, "app-pw")),
            .answers([Answer(messageID: 8, tag: 1, resultCode: .protocolError)])),
        Case(
            "SASL EXTERNAL bind", message(2, saslBind("EXTERNAL")),
            .answers([Answer(messageID: 2, tag: 1, resultCode: .authMethodNotSupported)])),
        Case(
            "SASL PLAIN bind with credentials", message(3, saslBind("PLAIN", credentials: Array("\0alice\0alice-pw".utf8))),
            .answers([Answer(messageID: 3, tag: 1, resultCode: .authMethodNotSupported)])),
        // Passed through to the directory, which lets anyone read (Scripts/test-directory): one entry, then done.
        Case(
            "search before any bind", search(4),
            .answers([Answer(messageID: 4, tag: 4, resultCode: .success), Answer(messageID: 4, tag: 5, resultCode: .success)])),
        Case(
            "outer length in a non-minimal long form", [0x30, 0x84, 0x00, 0x00, 0x00, v2Bind[1]] + v2Bind.dropFirst(2),
            .answers([Answer(messageID: 1, tag: 1, resultCode: .protocolError)])),
        Case(
            "messageID 2^31-1", message(Int(Int32.max), simpleBind(version: 2, TestDirectory.serviceDN, "app-pw")),
            .answers([Answer(messageID: Int32.max, tag: 1, resultCode: .protocolError)])),
        Case(
            "two refused binds in one write", v2Bind + message(2, saslBind("EXTERNAL")),
            .answers([
                Answer(messageID: 1, tag: 1, resultCode: .protocolError), Answer(messageID: 2, tag: 1, resultCode: .authMethodNotSupported),
            ])),

        // Truncated, then the client goes away.
        Case("one octet, then close", [0x30], .closesSilently),
        Case("half a long length, then close", [0x30, 0x84, 0x00], .closesSilently),
        Case("header announcing 1000 octets, 10 sent, then close", [0x30, 0x82, 0x03, 0xE8] + [UInt8](repeating: 0x04, count: 10), .closesSilently),
        Case("a bind missing its last octet, then close", Array(v2Bind.dropLast()), .closesSilently),
        Case("a bind that needs the directory, then close at once", message(1, simpleBind(TestDirectory.userDN("alice"), "alice-pw,123456")), .closes),
    ]

    // MARK: The test

    /// One slapd and one gateway for all the inputs (slapd takes seconds to start); each input on its own connection.
    @Test func malformedInputs() async throws {
        try await TestDirectory.with { directory in
            var ldap = LDAPProxyTests.ldapSettings(directory)
            ldap.ldapsListen = nil
            ldap.maximumMessageSize = Self.maximumMessageSize
            try await TestGateway.with(ldap: ldap) { gateway in
                _ = try await gateway.addLocalUser("alice")
                let server = try #require(gateway.gateway.ldap)
                let port = try #require(try await server.bind().plain?.port)
                let proxy = "ldap://127.0.0.1:\(port)"
                for input in Self.cases {
                    try await offCooperativePool { try Self.check(input, port: port) }
                    let whoami = try await LDAPTool.whoami(proxy, dn: TestDirectory.serviceDN, password: "app-pw")
                    #expect(whoami.status == 0, "after \(input.name): \(whoami.output)")
                }
                #expect(Self.cases.count >= 50)
            }
        }
    }

    static func check(_ input: Case, port: Int) throws {
        let connection = try LDAPWireClient(port: port)
        connection.send(input.bytes)
        let name = input.name
        switch input.expected {
        case .notice:
            let first = try #require(try connection.next(), "\(name): closed without a Notice of Disconnection")
            let notice = try LDAPMessage(decoding: first)
            guard case .extendedResponse(let result, let oid, _) = notice.protocolOp else {
                Issue.record("\(name): expected a Notice of Disconnection, got \(notice.protocolOp)")
                return
            }
            #expect(notice.messageID == 0 && oid == LDAPOID.noticeOfDisconnection, "\(name)")
            #expect(result.resultCode == .protocolError, "\(name): \(result)")
            #expect(try connection.next() == nil, "\(name): the connection stayed open after the notice")
        case .answers(let answers):
            for answer in answers {
                let frame = try #require(try connection.next(), "\(name): closed before answering")
                let reply = try LDAPMessage(decoding: frame)
                #expect(reply.messageID == answer.messageID, "\(name)")
                #expect(Self.tagAndCode(reply.protocolOp) == TagAndCode(tag: answer.tag, code: answer.resultCode), "\(name): \(reply.protocolOp)")
            }
            // Still usable: the service account binds on the same connection.
            connection.send(message(99, serviceBind))
            let frame = try #require(try connection.next(), "\(name): closed instead of serving a bind")
            let bound = try LDAPMessage(decoding: frame)
            #expect(bound.messageID == 99, "\(name)")
            #expect(Self.tagAndCode(bound.protocolOp) == TagAndCode(tag: 1, code: .success), "\(name): \(bound.protocolOp)")
            connection.send(message(100, unbind))
            #expect(try connection.next() == nil, "\(name): an unbind did not end the connection")
        case .closesSilently:
            connection.closeWriting()
            #expect(try connection.next() == nil, "\(name): expected the connection to end without an answer")
        case .closes:
            connection.closeWriting()
            while let frame = try connection.next() {
                #expect(throws: Never.self, "\(name)") { try LDAPMessage(decoding: frame) }
            }
        }
    }

    struct TagAndCode: Equatable {
        var tag: UInt
        var code: LDAPResultCode
    }

    /// The [APPLICATION n] tag and result code of a response (a SearchResultEntry counts as success).
    static func tagAndCode(_ op: LDAPProtocolOp) -> TagAndCode? {
        switch op {
        case .bindResponse(let result, _): TagAndCode(tag: 1, code: result.resultCode)
        case .extendedResponse(let result, _, _): TagAndCode(tag: 24, code: result.resultCode)
        case .other(4, _) where LDAPMessage.searchResultEntryDN(op) != nil: TagAndCode(tag: 4, code: .success)
        case .other(5, _): LDAPMessage.searchResultDone(op).map { TagAndCode(tag: 5, code: $0.resultCode) }
        default: nil
        }
    }
}

/// One raw TCP connection to the proxy, read one whole LDAPMessage at a time.
final class LDAPWireClient {
    private let fd: Int32
    private var splitter = LDAPFrameSplitter(maximumMessageSize: 1 << 24)
    private var pending: [[UInt8]] = []

    struct NoAnswer: Error, CustomStringConvertible {
        var description: String { "the proxy neither answered nor closed the connection within \(Int(TestTimeout.scaled(10))) s" }
    }

    init(port: Int) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw POSIXError(.EIO) }
        // Only against a hang: every expected outcome is an answer or a close.
        TestTimeout.setReceiveTimeout(fd, 10)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        inet_pton(AF_INET, "127.0.0.1", &address.sin_addr)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            close(fd)
            throw POSIXError(.ECONNREFUSED)
        }
    }

    deinit { close(fd) }

    func send(_ bytes: [UInt8]) {
        _ = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }

    func closeWriting() {
        shutdown(fd, Int32(SHUT_WR))
    }

    /// The next whole message, or nil once the proxy has closed (or reset) the connection.
    func next() throws -> [UInt8]? {
        var buffer = [UInt8](repeating: 0, count: 4096)
        while pending.isEmpty {
            let count = recv(fd, &buffer, buffer.count, 0)
            if count < 0, errno == EAGAIN || errno == EWOULDBLOCK { throw NoAnswer() }
            if count <= 0 { return nil }
            pending += try splitter.append(buffer[..<count])
        }
        return pending.removeFirst()
    }
}
