import Testing

@testable import MFACore

@Suite struct AppendedFactorTests {
    @Test func splitsAtTheLastDelimiter() {
        #expect(AppendedFactor.split("secret,123456", delimiter: ",") == ("secret", .code("123456")))
        #expect(AppendedFactor.split("a,b,c,12345678", delimiter: ",") == ("a,b,c", .code("12345678")))
        #expect(AppendedFactor.split("secret,push", delimiter: ",") == ("secret", .push))
        #expect(AppendedFactor.split("secret|123456", delimiter: "|") == ("secret", .code("123456")))
    }

    @Test func aSuffixThatIsNoFactorStaysInThePassword() {
        #expect(AppendedFactor.split("secret", delimiter: ",") == ("secret", .none))
        #expect(AppendedFactor.split("sec,ret", delimiter: ",") == ("sec,ret", .none))
        #expect(AppendedFactor.split("secret,12345", delimiter: ",") == ("secret,12345", .none))
        #expect(AppendedFactor.split("secret,123456789", delimiter: ",") == ("secret,123456789", .none))
        #expect(AppendedFactor.split("secret,12345a", delimiter: ",") == ("secret,12345a", .none))
        #expect(AppendedFactor.split("secret,", delimiter: ",") == ("secret,", .none))
        #expect(AppendedFactor.split("secret,١٢٣٤٥٦", delimiter: ",") == ("secret,١٢٣٤٥٦", .none))
    }
}
