import Foundation
import MFACore
import Testing

/// The console's settings row and the events page's queries, on each backend.
@Suite struct ConsoleStoreContractTests {
    let now = Date(timeIntervalSince1970: 1_700_000_000)

    @Test(arguments: Backend.allCases)
    func theGatewaySettingsRowIsReadAsWrittenAndEveryStoreOnTheDatabaseSeesIt(_ backend: Backend) async throws {
        try await TestDatabase.with(backend) { database in
            let store = try database.store()
            #expect(try await store.gatewaySettings() == GatewaySettings())
            let settings = GatewaySettings(
                pushLimit: PushLimiter.Settings(enabled: true, maxConcurrent: 3, window: 120, exempt: [.ldap]), allowUnenrolled: true)
            try await store.setGatewaySettings(settings)
            #expect(try await database.store().gatewaySettings() == settings)
            try await store.setGatewaySettings(GatewaySettings(allowUnenrolled: false))
            #expect(try await database.store().gatewaySettings() == GatewaySettings(allowUnenrolled: false))
            // The push switch is a row of its own: the settings row leaves it alone.
            try await store.setPushEnabled(false)
            #expect(try await store.gatewaySettings() == GatewaySettings(allowUnenrolled: false))
            #expect(try await store.isPushEnabled() == false)
        }
    }

    @Test(arguments: Backend.allCases)
    func eventsAreFilteredByUserTypeResultResourceAndTimeAndPagedNewestFirst(_ backend: Backend) async throws {
        try await TestDatabase.with(backend) { database in
            let store = try database.store()
            var events: [AuditEvent] = []
            for index in 0..<10 {
                events.append(
                    AuditEvent(
                        time: now.addingTimeInterval(Double(index * 60)), type: index.isMultiple(of: 2) ? .radiusAuth : .apiAuth,
                        user: index < 6 ? "alice" : "bob", resource: index.isMultiple(of: 3) ? "radius:vpn" : "api:wiki",
                        clientAddress: "192.0.2.1", result: index == 4 ? .failure : .success, error: index == 4 ? "wrong code" : nil))
            }
            events.append(AuditEvent(time: now, type: .userDeleted, user: "carol", resource: "admin:web:root", result: .success))
            events.append(AuditEvent(time: now, type: .userDeleted, user: "carol", resource: "admin:webby", result: .success))
            try await store.append(events)
            let all = try await store.events(matching: EventFilter(), before: nil, limit: 100)
            #expect(all.count == 12 && all.map(\.id) == all.map(\.id).sorted(by: >))
            // Keyset pages: older than the last id of the page before.
            let first = try await store.events(matching: EventFilter(), before: nil, limit: 5)
            let second = try await store.events(matching: EventFilter(), before: first.last?.id, limit: 5)
            let third = try await store.events(matching: EventFilter(), before: second.last?.id, limit: 5)
            #expect((first + second + third).map(\.id) == all.map(\.id))
            func users(_ filter: EventFilter) async throws -> [String?] {
                try await store.events(matching: filter, before: nil, limit: 100).map(\.event.user)
            }
            #expect(try await users(EventFilter(user: "bob")) == ["bob", "bob", "bob", "bob"])
            #expect(try await store.events(matching: EventFilter(type: "api_auth"), before: nil, limit: 100).count == 5)
            let failures = try await store.events(matching: EventFilter(result: .failure), before: nil, limit: 100)
            #expect(failures.count == 1 && failures.first?.event.error == "wrong code")
            #expect(try await store.events(matching: EventFilter(resource: "radius:vpn"), before: nil, limit: 100).count == 4)
            // A resource and those under it; not another that merely starts the same way.
            let admin = try await store.events(matching: EventFilter(resource: "admin:web"), before: nil, limit: 100)
            #expect(admin.map(\.event.resource) == ["admin:web:root"])
            let window = EventFilter(since: now.addingTimeInterval(120), until: now.addingTimeInterval(300))
            let timed = try await store.events(matching: window, before: nil, limit: 100).map { $0.event.time.timeIntervalSince(now) }
            #expect(timed == [240, 180, 120])
            #expect(try await users(EventFilter(user: "alice", type: "radius_auth", result: .success)) == ["alice", "alice"])
            // The live view: newer than an id, oldest first.
            let newer = try await store.events(matching: EventFilter(user: "bob"), after: all[3].id, limit: 100)
            #expect(newer.map(\.id) == all.prefix(3).filter { $0.event.user == "bob" }.map(\.id).reversed())
            #expect(try await store.events(matching: EventFilter(), after: all[0].id, limit: 100).isEmpty)
        }
    }
}
