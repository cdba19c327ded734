import Foundation
import Testing

@testable import MFACore

@Suite struct ChallengeBookTests {
    let clock = ManualWallClock()
    let binding = ChallengeBook.Binding(username: "alice", resource: Resource(kind: .radius, name: "vpn"), clientAddress: "192.0.2.1")

    @Test func aStateIsRandomAndSingleUse() async throws {
        let memory = MemoryChallengeStore()
        let book = ChallengeBook(store: memory)
        let state = try #require(await book.issue(for: binding, now: clock.now()))
        // The store holds the State's hash, never the State itself.
        #expect(memory.takeChallenge(stateHash: state) == nil)
        #expect(try await book.redeem(state, for: binding, now: clock.now())?.answer == .code)
    }

    @Test func aRedeemedStateIsUsedUp() async throws {
        let book = ChallengeBook()
        let state = try #require(await book.issue(for: binding, now: clock.now()))
        let other = try #require(await book.issue(for: binding, now: clock.now()))
        #expect(state.count == 16 && state != other)
        #expect(try await book.redeem(state, for: binding, now: clock.now())?.answer == .code)
        #expect(try await book.redeem(state, for: binding, now: clock.now()) == nil)
    }

    @Test func aStateExpires() async throws {
        let book = ChallengeBook(lifetime: 300)
        let state = try #require(await book.issue(for: binding, now: clock.now()))
        let late = try #require(await book.issue(for: binding, now: clock.now()))
        clock.advance(by: 299)
        #expect(try await book.redeem(state, for: binding, now: clock.now())?.answer == .code)
        clock.advance(by: 1)
        #expect(try await book.redeem(late, for: binding, now: clock.now()) == nil)
    }

    @Test func aStateIsBoundToUserResourceAndAddress() async throws {
        let book = ChallengeBook()
        var others = [binding, binding, binding]
        others[0].username = "bob"
        others[1].resource = Resource(kind: .radius, name: "wifi")
        others[2].clientAddress = "192.0.2.2"
        for other in others {
            let state = try #require(await book.issue(for: binding, now: clock.now()))
            #expect(try await book.redeem(state, for: other, now: clock.now()) == nil)
            // A failed redemption used it up.
            #expect(try await book.redeem(state, for: binding, now: clock.now()) == nil)
        }
    }

    @Test func aFullBookRefusesUntilStatesExpire() async throws {
        let memory = MemoryChallengeStore()
        let book = ChallengeBook(lifetime: 10, capacity: 2, store: memory)
        #expect(try await book.issue(for: binding, now: clock.now()) != nil)
        #expect(try await book.issue(for: binding, now: clock.now()) != nil)
        #expect(try await book.issue(for: binding, now: clock.now()) == nil)
        clock.advance(by: 10)
        #expect(try await book.issue(for: binding, now: clock.now()) != nil)
        #expect(memory.count == 1)
    }
}
