import Foundation
import Testing

@testable import MFACore

@Suite struct PushLimiterTests {
    let portal = PushLimiter.Key(username: "alice", resource: Resource(kind: .api, name: "portal"))
    let start = Date(timeIntervalSince1970: 1_700_000_000)

    @Test func oneOutstandingPushPerUserAndResource() {
        var limiter = PushLimiter(settings: .init())
        let admitted1 = limiter.admit(portal, pushID: "a", now: start)
        #expect(admitted1)
        let admitted2 = limiter.admit(portal, pushID: "b", now: start.addingTimeInterval(1))
        #expect(!admitted2)
        // Another resource or another user is not affected.
        let admitted3 = limiter.admit(.init(username: "alice", resource: Resource(kind: .api, name: "wiki")), pushID: "c", now: start)
        #expect(admitted3)
        let admitted4 = limiter.admit(.init(username: "bob", resource: portal.resource), pushID: "d", now: start)
        #expect(admitted4)
        // Answered: the next one goes through.
        limiter.release(portal, pushID: "a")
        let admitted5 = limiter.admit(portal, pushID: "e", now: start.addingTimeInterval(2))
        #expect(admitted5)
    }

    @Test func theWindowPassing() {
        var limiter = PushLimiter(settings: .init(window: 60))
        let admitted6 = limiter.admit(portal, pushID: "a", now: start)
        #expect(admitted6)
        let admitted7 = limiter.admit(portal, pushID: "b", now: start.addingTimeInterval(59))
        #expect(!admitted7)
        let admitted8 = limiter.admit(portal, pushID: "c", now: start.addingTimeInterval(60))
        #expect(admitted8)
    }

    @Test func disabledOrRaised() {
        var off = PushLimiter(settings: .init(enabled: false))
        let first9 = off.admit(portal, pushID: "a", now: start)
        let second9 = off.admit(portal, pushID: "b", now: start)
        #expect(first9 && second9)
        var two = PushLimiter(settings: .init(maxConcurrent: 2))
        let admitted10 = two.admit(portal, pushID: "a", now: start)
        #expect(admitted10)
        let admitted11 = two.admit(portal, pushID: "b", now: start)
        #expect(admitted11)
        let admitted12 = two.admit(portal, pushID: "c", now: start)
        #expect(!admitted12)
    }

    @Test func radiusAndLDAPAreTheDocumentedException() {
        var limiter = PushLimiter(settings: .init())
        for kind in [Resource.Kind.radius, .ldap] {
            let key = PushLimiter.Key(username: "alice", resource: Resource(kind: kind, name: "vpn"))
            let first13 = limiter.admit(key, pushID: "a", now: start)
            let second13 = limiter.admit(key, pushID: "b", now: start)
            #expect(first13 && second13)
        }
        var strict = PushLimiter(settings: .init(exempt: []))
        let vpn = PushLimiter.Key(username: "alice", resource: Resource(kind: .radius, name: "vpn"))
        let admitted14 = strict.admit(vpn, pushID: "a", now: start)
        #expect(admitted14)
        let admitted15 = strict.admit(vpn, pushID: "b", now: start)
        #expect(!admitted15)
    }
}
