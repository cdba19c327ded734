import Logging
import NIOCore
import ServiceLifecycle
import Synchronization

/// The sockets one service listens on: bound once, all or none (a failure closes what was bound), and closed
/// together when the service shuts down. Shared by the RADIUS server and the LDAP proxy.
public final class ListenerSet: Sendable {
    private let channels = Mutex<[any Channel]?>(nil)

    public init() {}

    /// Binds each listener in order unless that was done already; the bound channels.
    @discardableResult
    public func bindOnce(
        _ binders: [@Sendable () async throws -> any Channel], name: String, logger: Logger
    ) async throws -> [any Channel] {
        try await bindOnce(groups: binders.map { binder in { [try await binder()] } }, name: name, logger: logger)
    }

    /// Same, where one binder may bind several sockets (one per event loop on a shared port).
    @discardableResult
    public func bindOnce(
        groups binders: [@Sendable () async throws -> [any Channel]], name: String, logger: Logger
    ) async throws -> [any Channel] {
        if let bound = channels.withLock({ $0 }) { return bound }
        var bound: [any Channel] = []
        do {
            for binder in binders { bound += try await binder() }
        } catch {
            for channel in bound { try? await channel.close() }
            throw error
        }
        channels.withLock { $0 = bound }
        for channel in bound {
            logger.info("\(name) listening", metadata: ["address": "\(channel.localAddress.map { "\($0)" } ?? "?")"])
        }
        return bound
    }

    public var all: [any Channel] { channels.withLock { $0 ?? [] } }

    /// Runs until every socket is closed. On graceful shutdown or cancellation, `beforeClose` runs first (to answer
    /// what is under way), then the sockets close.
    public func serveUntilShutdown(beforeClose: @escaping @Sendable () async -> Void = {}) async throws {
        let open = all
        try await withTaskCancellationOrGracefulShutdownHandler {
            for channel in open { try await channel.closeFuture.get() }
        } onCancelOrGracefulShutdown: {
            Task {
                await beforeClose()
                for channel in open { channel.close(promise: nil) }
            }
        }
    }
}
