import Foundation
import Testing

@testable import MFACore

/// The settings cache: the store's row over the defaults, read again at most once a second (a test clock, no sleeps).
@Suite struct GatewaySettingsCacheTests {
    /// A settings row in memory that counts its reads.
    final class CountingSettingsStore: GatewaySettingsStore {
        private let state = Locked((settings: GatewaySettings(), reads: 0, failing: false))

        var reads: Int { state.withLock { $0.reads } }
        func fail(_ failing: Bool) { state.withLock { $0.failing = failing } }

        func gatewaySettings() async throws -> GatewaySettings {
            try state.withLock { state in
                state.reads += 1
                if state.failing { throw StoreError(.io, "down") }
                return state.settings
            }
        }

        func setGatewaySettings(_ settings: GatewaySettings) async throws {
            state.withLock { $0.settings = settings }
        }
    }

    let defaults = EffectiveGatewaySettings(pushLimit: PushLimiter.Settings(), allowUnenrolled: false)

    @Test func theRowIsReadAtMostOnceASecondAndItsOverridesApply() async throws {
        let store = CountingSettingsStore()
        let clock = ManualWallClock()
        let cache = GatewaySettingsCache(defaults: defaults, store: store, clock: clock)
        #expect(await cache.current() == defaults)
        #expect(store.reads == 1)
        // Another node changes the row: this one sees it once its last read is a second old, not before.
        let limit = PushLimiter.Settings(enabled: true, maxConcurrent: 2, window: 30, exempt: [])
        try await store.setGatewaySettings(GatewaySettings(pushLimit: limit))
        clock.advance(by: 0.5)
        for _ in 0..<100 { #expect(await cache.current() == defaults) }
        #expect(store.reads == 1)
        clock.advance(by: 0.5)
        #expect(await cache.current() == EffectiveGatewaySettings(pushLimit: limit, allowUnenrolled: false))
        #expect(store.reads == 2 && cache.latest.pushLimit == limit)
        // Reset: back to the configuration's value.
        try await store.setGatewaySettings(GatewaySettings(allowUnenrolled: true))
        cache.invalidate()
        #expect(await cache.current() == EffectiveGatewaySettings(pushLimit: PushLimiter.Settings(), allowUnenrolled: true))
        #expect(store.reads == 3)
    }

    @Test func aFailedReadKeepsTheLastValuesAndTriesAgainASecondLater() async throws {
        let store = CountingSettingsStore()
        let clock = ManualWallClock()
        let cache = GatewaySettingsCache(defaults: defaults, store: store, clock: clock)
        try await store.setGatewaySettings(GatewaySettings(allowUnenrolled: true))
        #expect(await cache.current().allowUnenrolled)
        store.fail(true)
        clock.advance(by: 1)
        #expect(await cache.current().allowUnenrolled)
        #expect(await cache.current().allowUnenrolled)
        #expect(store.reads == 2)
        store.fail(false)
        try await store.setGatewaySettings(GatewaySettings())
        clock.advance(by: 1)
        #expect(await cache.current().allowUnenrolled == false)
        #expect(store.reads == 3)
    }

    @Test func aClockThatWentBackReadsAgain() async throws {
        let store = CountingSettingsStore()
        let clock = ManualWallClock()
        let cache = GatewaySettingsCache(defaults: defaults, store: store, clock: clock)
        _ = await cache.current()
        clock.advance(by: -10)
        _ = await cache.current()
        #expect(store.reads == 2)
    }

    @Test func theRowIsJSONAndAKindThisVersionDoesNotKnowIsDropped() throws {
        let settings = GatewaySettings(
            pushLimit: PushLimiter.Settings(enabled: false, maxConcurrent: 4, window: 90, exempt: [.radius, .api]), allowUnenrolled: nil)
        let bytes = StoreConventions.encode(settings)
        #expect(String(decoding: bytes, as: UTF8.self)
            == #"{"pushLimit":{"enabled":false,"exempt":["api","radius"],"max_concurrent":4,"window_seconds":90}}"#)
        #expect(try StoreConventions.decodeGatewaySettings(bytes) == settings)
        let future = #"{"pushLimit":{"enabled":true,"exempt":["radius","smtp"],"max_concurrent":1,"window_seconds":60}}"#
        #expect(try StoreConventions.decodeGatewaySettings(Array(future.utf8)).pushLimit?.exempt == [.radius])
        #expect(try StoreConventions.decodeGatewaySettings(nil) == GatewaySettings())
        #expect(throws: StoreError(.io, "")) { try StoreConventions.decodeGatewaySettings(Array("{".utf8)) }
    }
}
