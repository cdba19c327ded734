import Foundation
import Testing

@testable import CountersignConfig

/// `countersign config check`: one pass finds every error it can read past.
@Suite struct ConfigurationCheckTests {
    /// Mistakes in five sections: unknown keys (a section and keys in two tables), values of the wrong type, out
    /// of range and malformed, a broken rule, and a client that cannot be read at all.
    static let manyMistakes = """
        [store]
        pth = "x.db"
        [radius]
        listen = ["127.0.0.1:1812", "nowhere"]
        duplicate_window = 0
        client_failure_rate = -1
        max_queue_wait = "soon"
        [[radius.clients]]
        name = "nas"
        address = "10.0.0.0/8"
        secret = "s3cret"
        colour = "blue"
        [log]
        level = "loud"
        [lockout]
        max_failures = 0
        [push]
        timeout = 0
        [metrix]
        listen = "127.0.0.1:9090"
        """

    @Test func everyMistakeIsReportedOnceInFileOrder() {
        let errors = CountersignConfiguration.check(toml: Self.manyMistakes, baseDirectory: "/etc/countersign")
        #expect(errors.map(\.key) == [
            "metrix", "store.pth", "radius.clients[0].colour", "radius.listen[1]", "radius.client_failure_rate",
            "radius.max_queue_wait", "log.level", "lockout.max_failures", "radius.duplicate_window", "push.timeout",
        ])
        #expect(errors.map(\.code) == [
            .unknownKey, .unknownKey, .unknownKey, .invalidValue, .outOfRange, .wrongType, .invalidValue, .outOfRange,
            .outOfRange, .outOfRange,
        ])
    }

    @Test func aStrictLoadThrowsTheFirstOfThem() {
        #expect(parseError(Self.manyMistakes)?.key == "metrix")
    }

    /// A value reported bad is not reported again as missing, nor its list as empty.
    @Test func aBadValueIsNotReportedAgainAsMissing() {
        let errors = CountersignConfiguration.check(
            toml: """
                [radius]
                listen = ["nowhere"]
                [[radius.clients]]
                name = 7
                address = "10.0.0.0/8"
                secret = "s"
                """, baseDirectory: "/")
        #expect(errors.map(\.key) == ["radius.listen[0]", "radius.clients[0].name"])
    }

    @Test func aGoodDocumentHasNoErrors() {
        #expect(CountersignConfiguration.check(toml: minimalClient, baseDirectory: "/").isEmpty)
    }

    @Test func syntaxAndFileErrorsAreTheOnlyOnes() {
        let syntax = CountersignConfiguration.check(toml: "[radius\nlisten = 5", baseDirectory: "/")
        #expect(syntax.map(\.code) == [.syntax])
        let missing = CountersignConfiguration.check(path: "/nonexistent/countersign.toml")
        #expect(missing.map(\.code) == [.fileUnreadable])
        #expect(missing.first?.file == "/nonexistent/countersign.toml")
    }
}
