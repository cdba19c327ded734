import CountersignConfig
import Foundation
import MFACore
import Testing

/// `push.number_matching`: radclient gets a challenge at once, the real countersign-device approves and prints the
/// number, and the number typed as the response decides.
@Suite struct NumberMatchingTests {
    static let isNumberLine: @Sendable (String) -> Bool = { $0.hasPrefix("number: ") }

    /// The challenge of a login with the password alone: its State and Reply-Message.
    static func challenge(_ gateway: TestGateway) async throws -> (state: String, prompt: String?) {
        let reply = try await gateway.radclient().send(PushGatewayTests.login("bob", "pw"))
        #expect(reply.code == "Access-Challenge", "\(reply.output)")
        return (try #require(reply.value("State")), reply.value("Reply-Message"))
    }

    @Test func theNumberShownAfterApprovalCompletesTheLoginAndAWrongOneFails() async throws {
        try await TestGateway.with(push: PushSettings(numberMatching: true)) { gateway in
            try await gateway.addUser("bob", password: "pw", totp: false)
            let device = try gateway.listen(try await gateway.enrollDevice("bob"), "--approve", count: 2)
            defer { device.terminate() }

            let first = try await Self.challenge(gateway)
            #expect(first.prompt == MFAAuthenticator.numberPrompt)
            let shown = try #require(await device.lines(where: Self.isNumberLine))
            let number = String(try #require(shown.last).dropFirst("number: ".count))
            #expect(number.count == 3 && number.allSatisfy(\.isNumber))
            let accepted = try await gateway.radclient().send(PushGatewayTests.login("bob", number, extra: ["State = \(first.state)"]))
            #expect(accepted.code == "Access-Accept", "\(accepted.output)")
            // The State is single-use.
            let again = try await gateway.radclient().send(PushGatewayTests.login("bob", number, extra: ["State = \(first.state)"]))
            #expect(again.code == "Access-Reject")

            let second = try await Self.challenge(gateway)
            let numbers = try #require(await device.lines(where: Self.isNumberLine, count: 2))
            let right = String(numbers[1].dropFirst("number: ".count))
            let wrong = right == "000" ? "001" : "000"
            let refused = try await gateway.radclient().send(PushGatewayTests.login("bob", wrong, extra: ["State = \(second.state)"]))
            #expect(refused.code == "Access-Reject")
            #expect(refused.value("Reply-Message") == "Wrong number")
            #expect(try await gateway.events(.pushAttempt).count == 2)
            #expect(try await gateway.events(.pushApproved).count == 2)
            #expect(try await gateway.gateway.store.credentials(for: "bob")?.failedAttempts == 1)
        }
    }

    @Test func aDeniedPushRejectsTheResponse() async throws {
        try await TestGateway.with(push: PushSettings(numberMatching: true)) { gateway in
            try await gateway.addUser("bob", password: "pw", totp: false)
            let device = try gateway.listen(try await gateway.enrollDevice("bob"), "--deny", count: 1)
            defer { device.terminate() }
            let challenge = try await Self.challenge(gateway)
            #expect(try await device.exitStatus() == 0)
            let reply = try await gateway.radclient().send(PushGatewayTests.login("bob", "123", extra: ["State = \(challenge.state)"]))
            #expect(reply.code == "Access-Reject")
            #expect(reply.value("Reply-Message") == "Push denied")
            #expect(try await gateway.events(.pushDenied).count == 1)
        }
    }
}
