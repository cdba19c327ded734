import Foundation
import Testing

@testable import MFACore

@Suite struct TOTPTests {
    // RFC 6238 errata 2866 seeds: "1234567890" repeated to the hash's length.
    static func seed(_ length: Int) -> [UInt8] {
        Array(String(repeating: "1234567890", count: 7).utf8.prefix(length))
    }

    // RFC 6238 Appendix B (T0 = 0, 30 s, 8 digits), from ../shared/vectors.md.
    static let table: [(time: TimeInterval, sha1: String, sha256: String, sha512: String)] = [
        (59, "94287082", "46119246", "90693936"),
        (1_111_111_109, "07081804", "68084774", "25091201"),
        (1_111_111_111, "14050471", "67062674", "99943326"),
        (1_234_567_890, "89005924", "91819424", "93441116"),
        (2_000_000_000, "69279037", "90698825", "38618901"),
        (20_000_000_000, "65353130", "77737706", "47863826"),
    ]

    @Test func rfc6238AppendixB() {
        for row in Self.table {
            let time = Date(timeIntervalSince1970: row.time)
            #expect(OneTimeCode.totp(secret: Self.seed(20), at: time, parameters: .init(algorithm: .sha1, digits: 8)) == row.sha1)
            #expect(OneTimeCode.totp(secret: Self.seed(32), at: time, parameters: .init(algorithm: .sha256, digits: 8)) == row.sha256)
            #expect(OneTimeCode.totp(secret: Self.seed(64), at: time, parameters: .init(algorithm: .sha512, digits: 8)) == row.sha512)
        }
    }

    // RFC 4226 Appendix D.
    @Test func rfc4226AppendixD() {
        let expected = ["755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583", "399871", "520489"]
        for (counter, code) in expected.enumerated() {
            #expect(OneTimeCode.hotp(secret: Array("12345678901234567890".utf8), counter: UInt64(counter), digits: 6) == code)
        }
    }

    @Test func verifierAcceptsOneStepOfDriftEachWayAndNoMore() {
        let secret = Self.seed(20)
        let parameters = TOTPParameters.standard
        let now = Date(timeIntervalSince1970: 1_700_000_010)
        let step = parameters.step(at: now)
        let verifier = TOTPVerifier(driftSteps: 1)
        for offset in Int64(-1)...1 {
            let code = OneTimeCode.hotp(secret: secret, counter: UInt64(step + offset), digits: 6)
            #expect(verifier.matchingStep(code: code, secret: secret, parameters: parameters, at: now) == step + offset)
        }
        for offset in [Int64(-2), 2] {
            let code = OneTimeCode.hotp(secret: secret, counter: UInt64(step + offset), digits: 6)
            #expect(verifier.matchingStep(code: code, secret: secret, parameters: parameters, at: now) == nil)
        }
        let previous = OneTimeCode.hotp(secret: secret, counter: UInt64(step - 1), digits: 6)
        #expect(TOTPVerifier(driftSteps: 0).matchingStep(code: previous, secret: secret, parameters: parameters, at: now) == nil)
    }

    /// At the first step there is no step before it: the window is steps 0 and 1.
    @Test func verifierAtTheFirstStepChecksOnlyStepsThatExist() {
        let secret = Self.seed(20)
        let now = Date(timeIntervalSince1970: 10)
        let verifier = TOTPVerifier(driftSteps: 1)
        for step: Int64 in [0, 1] {
            let code = OneTimeCode.hotp(secret: secret, counter: UInt64(step), digits: 6)
            #expect(verifier.matchingStep(code: code, secret: secret, parameters: .standard, at: now) == step)
        }
        let third = OneTimeCode.hotp(secret: secret, counter: 2, digits: 6)
        #expect(verifier.matchingStep(code: third, secret: secret, parameters: .standard, at: now) == nil)
    }

    @Test func verifierRefusesWrongLengthAndWrongCodes() {
        let secret = Self.seed(20)
        let now = Date(timeIntervalSince1970: 1_700_000_010)
        let code = OneTimeCode.totp(secret: secret, at: now)
        let verifier = TOTPVerifier()
        #expect(verifier.matchingStep(code: String(code.dropLast()), secret: secret, parameters: .standard, at: now) == nil)
        #expect(verifier.matchingStep(code: code + "0", secret: secret, parameters: .standard, at: now) == nil)
        #expect(verifier.matchingStep(code: code, secret: Self.seed(19), parameters: .standard, at: now) == nil)
        // Only ASCII digits: a sign, a space or another script's digit is no code, whatever its value.
        for almost in ["+" + code.dropFirst(), " " + code.dropFirst(), "٠" + code.dropFirst(), ""] {
            #expect(verifier.matchingStep(code: String(almost), secret: secret, parameters: .standard, at: now) == nil)
        }
        // Eight digits, SHA-256: the RFC 6238 vector at T = 59 s.
        let sha256 = TOTPParameters(algorithm: .sha256, digits: 8)
        let seed32 = Array("12345678901234567890123456789012".utf8)
        #expect(
            verifier.matchingStep(code: "46119246", secret: seed32, parameters: sha256, at: Date(timeIntervalSince1970: 59)) == 1)
    }

    @Test func enrollmentMakes160BitSecretsAndAURI() {
        let first = TOTPEnrollment.generate()
        let second = TOTPEnrollment.generate()
        #expect(first.secret.count == 20)
        #expect(first.secret != second.secret)
        let uri = first.uri(issuer: "Countersign", account: "jürgen")
        #expect(uri.hasPrefix("otpauth://totp/Countersign:j%C3%BCrgen?secret=\(first.base32Secret)&issuer=Countersign"))
        #expect(uri.hasSuffix("&algorithm=SHA1&digits=6&period=30"))
    }
}

@Suite struct Base32Tests {
    // RFC 4648 §10.
    @Test func rfc4648Vectors() {
        let vectors = ["": "", "f": "MY", "fo": "MZXQ", "foo": "MZXW6", "foob": "MZXW6YQ", "fooba": "MZXW6YTB", "foobar": "MZXW6YTBOI"]
        for (plain, encoded) in vectors {
            #expect(Base32.encode(Array(plain.utf8)) == encoded)
            #expect(Base32.decode(encoded) == Array(plain.utf8))
            #expect(Base32.decode(encoded.lowercased() + "======") == Array(plain.utf8))
        }
    }

    @Test func refusesForeignCharacters() {
        #expect(Base32.decode("MZXW1") == nil)
        #expect(Base32.decode("MZ!W6") == nil)
    }
}
