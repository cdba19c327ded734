import Foundation
import Testing

@testable import MFACore

@Suite struct ChallengeBookTests {
    let clock = ManualWallClock()
    let binding = ChallengeBook.Binding(username: "alice", resource: Resource(kind: .radius, name: "vpn"), clientAddress: "192.0.2.1")

    @Test func aStateIsRandomAndSingleUse() throws {
        let book = ChallengeBook()
        let state = try #require(book.issue(for: binding, now: clock.now()))
        let other = try #require(book.issue(for: binding, now: clock.now()))
        #expect(state.count == 16 && state != other)
        #expect(book.redeem(state, for: binding, now: clock.now()) == .code)
        #expect(book.redeem(state, for: binding, now: clock.now()) == nil)
    }

    @Test func aStateExpires() throws {
        let book = ChallengeBook(lifetime: 300)
        let state = try #require(book.issue(for: binding, now: clock.now()))
        let late = try #require(book.issue(for: binding, now: clock.now()))
        clock.advance(by: 299)
        #expect(book.redeem(state, for: binding, now: clock.now()) == .code)
        clock.advance(by: 1)
        #expect(book.redeem(late, for: binding, now: clock.now()) == nil)
    }

    @Test func aStateIsBoundToUserResourceAndAddress() throws {
        let book = ChallengeBook()
        var others = [binding, binding, binding]
        others[0].username = "bob"
        others[1].resource = Resource(kind: .radius, name: "wifi")
        others[2].clientAddress = "192.0.2.2"
        for other in others {
            let state = try #require(book.issue(for: binding, now: clock.now()))
            #expect(book.redeem(state, for: other, now: clock.now()) == nil)
            // A failed redemption used it up.
            #expect(book.redeem(state, for: binding, now: clock.now()) == nil)
        }
    }

    @Test func aFullBookRefusesUntilStatesExpire() {
        let book = ChallengeBook(lifetime: 10, capacity: 2)
        #expect(book.issue(for: binding, now: clock.now()) != nil)
        #expect(book.issue(for: binding, now: clock.now()) != nil)
        #expect(book.issue(for: binding, now: clock.now()) == nil)
        clock.advance(by: 10)
        #expect(book.issue(for: binding, now: clock.now()) != nil)
        #expect(book.count == 1)
    }
}
