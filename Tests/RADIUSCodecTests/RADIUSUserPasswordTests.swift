import Testing

@testable import RADIUSCodec

@Suite("RADIUSUserPassword")
struct RADIUSUserPasswordTests {
    // RFC 2865 §5.2, recomputed: secret "testing123", Request Authenticator 000102…0f.
    static let secret = Array("testing123".utf8)
    static let requestAuthenticator = hex("000102030405060708090a0b0c0d0e0f")

    static let table: [(password: String, hidden: String)] = [
        ("hello", "fe8b65a61bfd7a1a104607240014828b"),
        ("0123456789abcdef", "a6df3bf940c84c2d287f66466370e7ed"),
        ("correct horse,123456", "f5817bb8119e0e3a782975576538b3b911b9770611a224eb0b90a41d450dd667"),
    ]

    @Test(arguments: 0..<3)
    func hidesAsTheTableSays(row: Int) {
        let (password, hidden) = Self.table[row]
        #expect(RADIUSUserPassword.hide(Array(password.utf8), secret: Self.secret, requestAuthenticator: Self.requestAuthenticator) == hex(hidden))
    }

    @Test(arguments: 0..<3)
    func revealsAsTheTableSays(row: Int) throws {
        let (password, hidden) = Self.table[row]
        #expect(try RADIUSUserPassword.reveal(hex(hidden), secret: Self.secret, requestAuthenticator: Self.requestAuthenticator) == Array(password.utf8))
    }

    @Test(arguments: [0, 15, 17, 144, 129, 8])
    func revealRejectsBadLengths(length: Int) {
        #expect(throws: RADIUSDecodingError(code: .invalidUserPassword, message: "")) {
            try RADIUSUserPassword.reveal(
                [UInt8](repeating: 0x55, count: length), secret: Self.secret, requestAuthenticator: Self.requestAuthenticator
            )
        }
    }

    @Test(arguments: [1, 15, 16, 17, 31, 32, 100, 127, 128])
    func roundTrips(length: Int) throws {
        let password = (0..<length).map { UInt8(truncatingIfNeeded: $0 % 250 + 1) }
        let hidden = RADIUSUserPassword.hide(password, secret: Self.secret, requestAuthenticator: Self.requestAuthenticator)
        #expect(hidden.count == max(16, (length + 15) / 16 * 16))
        #expect(try RADIUSUserPassword.reveal(hidden, secret: Self.secret, requestAuthenticator: Self.requestAuthenticator) == password)
    }

    @Test func emptyPasswordHidesToOneBlock() throws {
        let hidden = RADIUSUserPassword.hide([], secret: Self.secret, requestAuthenticator: Self.requestAuthenticator)
        #expect(hidden.count == 16)
        #expect(try RADIUSUserPassword.reveal(hidden, secret: Self.secret, requestAuthenticator: Self.requestAuthenticator) == [])
    }

    @Test func wrongSecretRevealsGarbage() throws {
        let hidden = hex(Self.table[0].hidden)
        #expect(try RADIUSUserPassword.reveal(hidden, secret: Array("nope".utf8), requestAuthenticator: Self.requestAuthenticator) != Array("hello".utf8))
    }
}
