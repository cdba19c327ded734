import Foundation
import Logging

/// The settings in force on this node: the store's row (`GatewaySettings`) over the configuration's values. The row
/// is read again at most once a second, so that a change made on one node applies on every node within a second and
/// a login costs no statement of its own.
public final class GatewaySettingsCache: Sendable {
    public static let refreshInterval: TimeInterval = 1

    /// The configuration's values: what a reset goes back to.
    public let defaults: EffectiveGatewaySettings
    private let store: any GatewaySettingsStore
    private let clock: any WallClock
    private let logger: Logger

    private struct State {
        var values: EffectiveGatewaySettings
        var readAt: Date?
        /// One login reads the row; the others use the values read before.
        var reading = false
    }

    private let state: Locked<State>

    public init(
        defaults: EffectiveGatewaySettings, store: any GatewaySettingsStore, clock: any WallClock = SystemWallClock(),
        logger: Logger = Logger(label: "countersign.settings")
    ) {
        self.defaults = defaults
        self.store = store
        self.clock = clock
        self.logger = logger
        state = Locked(State(values: defaults))
    }

    /// The values in force, read from the store first when the last read is a second old (or the clock went back).
    public func current() async -> EffectiveGatewaySettings {
        let now = clock.now()
        let (values, due) = state.withLock { state -> (EffectiveGatewaySettings, Bool) in
            let fresh = state.readAt.map { now >= $0 && now.timeIntervalSince($0) < Self.refreshInterval } ?? false
            guard !fresh, !state.reading else { return (state.values, false) }
            state.reading = true
            return (state.values, true)
        }
        guard due else { return values }
        do {
            let read = try await store.gatewaySettings().applied(to: defaults)
            state.withLock { state in
                state.values = read
                state.readAt = now
                state.reading = false
            }
            return read
        } catch {
            // The last values stay in force; the next read is due in a second.
            state.withLock { state in
                state.readAt = now
                state.reading = false
            }
            logger.warning("could not read the gateway settings: keeping the last ones", metadata: ["error": "\(error)"])
            return values
        }
    }

    /// The values as last read, without a look at the store (for code that cannot wait; `current()` refreshes them).
    public var latest: EffectiveGatewaySettings { state.withLock { $0.values } }

    /// This node changed the row: the next `current()` reads it.
    public func invalidate() {
        state.withLock { $0.readAt = nil }
    }
}
