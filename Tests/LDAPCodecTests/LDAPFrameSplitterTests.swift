import Testing

@testable import LDAPCodec

@Suite("LDAPFrameSplitter")
struct LDAPFrameSplitterTests {
    @Test("a message split at every byte boundary across two appends comes out once", arguments: Vectors.valid.map(\.0))
    func everySplit(name: String) throws {
        let bytes = try #require(Vectors.valid.first { $0.0 == name }?.1)
        for cut in 0...bytes.count {
            var splitter = LDAPFrameSplitter()
            let first = try splitter.append(bytes[..<cut])
            let second = try splitter.append(bytes[cut...])
            #expect(first + second == [bytes], "cut at \(cut)")
            #expect(first.isEmpty == (cut < bytes.count))
            #expect(splitter.bufferedByteCount == 0)
        }
    }

    @Test("two messages in one append give two; a partial third is kept")
    func severalInOneAppend() throws {
        var splitter = LDAPFrameSplitter()
        let stream = Vectors.simpleBind + Vectors.unbind + Vectors.startTLS.prefix(5)
        let messages = try splitter.append(stream)
        #expect(messages == [Vectors.simpleBind, Vectors.unbind])
        #expect(splitter.bufferedByteCount == 5)
        #expect(try splitter.append(Vectors.startTLS.dropFirst(5)) == [Vectors.startTLS])
        #expect(splitter.bufferedByteCount == 0)
    }

    @Test("one byte at a time")
    func byteAtATime() throws {
        var splitter = LDAPFrameSplitter()
        let stream = Vectors.valid.flatMap(\.1)
        var messages: [[UInt8]] = []
        for byte in stream {
            messages += try splitter.append(CollectionOfOne(byte))
        }
        #expect(messages == Vectors.valid.map(\.1))
        #expect(try messages.map { try LDAPMessage(decoding: $0).encoded() }.count == Vectors.valid.count)
    }

    @Test("a 2^31 length is refused from the header alone, nothing buffered")
    func hugeLength() throws {
        var splitter = LDAPFrameSplitter()
        // Header only.
        #expect(throws: LDAPDecodingError(code: .messageTooLarge, message: "")) {
            try splitter.append(hex("3084 80000000"))
        }
        #expect(splitter.bufferedByteCount == 0)

        // Header followed by body bytes in the same append: still refused before the body is taken.
        var second = LDAPFrameSplitter()
        #expect(throws: LDAPDecodingError(code: .messageTooLarge, message: "")) {
            try second.append(hex("3084 80000000") + [UInt8](repeating: 0, count: 100_000))
        }
        #expect(second.bufferedByteCount == 0)

        // Header arriving a byte at a time: refused as soon as the last length octet arrives.
        var third = LDAPFrameSplitter()
        for byte in hex("3084 800000") {
            #expect(try third.append([byte]).isEmpty)
        }
        #expect(third.bufferedByteCount == 5)
        #expect(throws: LDAPDecodingError(code: .messageTooLarge, message: "")) {
            try third.append([0x00])
        }
    }

    @Test("the cap counts the whole message, header included")
    func cap() throws {
        var exact = LDAPFrameSplitter(maximumMessageSize: Vectors.unbind.count)
        #expect(try exact.append(Vectors.unbind) == [Vectors.unbind])
        var under = LDAPFrameSplitter(maximumMessageSize: Vectors.unbind.count - 1)
        #expect(throws: LDAPDecodingError(code: .messageTooLarge, message: "")) {
            try under.append(Vectors.unbind)
        }
        var large = LDAPFrameSplitter()
        #expect(throws: LDAPDecodingError(code: .messageTooLarge, message: "")) {
            try large.append(hex("3083 100000"))  // 2^20 + 5 octets in all
        }
        #expect(large.bufferedByteCount == 0)
    }

    @Test("indefinite length, a non-SEQUENCE tag and 5 length octets are refused")
    func refusedHeaders() {
        let cases: [(String, LDAPDecodingError.Code)] = [
            ("3080 020102 4200 0000", .indefiniteLength),
            ("3105 020102 4200", .unexpectedTag),
            ("6005 020102 4200", .unexpectedTag),
            ("00", .unexpectedTag),
            ("3085 0000000005", .lengthFieldTooLong),
            ("30ff", .lengthFieldTooLong),
        ]
        for (bytes, code) in cases {
            var splitter = LDAPFrameSplitter()
            #expect(throws: LDAPDecodingError(code: code, message: ""), "\(bytes)") {
                try splitter.append(hex(bytes))
            }
        }
    }

    @Test("a non-minimal length is accepted")
    func nonMinimalLength() throws {
        var splitter = LDAPFrameSplitter()
        let bytes = hex("3084 00000005 020102 4200")
        #expect(try splitter.append(bytes) == [bytes])
        #expect(try LDAPMessage(decoding: bytes).protocolOp == .unbindRequest)
    }

    @Test("messages already complete before a bad header are not returned; the splitter stays failed")
    func stickyFailure() throws {
        var splitter = LDAPFrameSplitter()
        #expect(throws: LDAPDecodingError(code: .unexpectedTag, message: "")) {
            try splitter.append(Vectors.unbind + [0x31])
        }
        #expect(throws: LDAPDecodingError(code: .unexpectedTag, message: "")) {
            try splitter.append(Vectors.unbind)
        }
    }

    @Test("an empty SEQUENCE is a frame (decoding it then fails)")
    func emptySequence() throws {
        var splitter = LDAPFrameSplitter()
        #expect(try splitter.append(hex("3000 3000")) == [hex("3000"), hex("3000")])
        #expect(throws: LDAPDecodingError.self) { try LDAPMessage(decoding: hex("3000")) }
        #expect(try splitter.append([UInt8]()) == [])
    }
}
