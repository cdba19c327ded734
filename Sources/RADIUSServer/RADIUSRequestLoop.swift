import Logging
import MFACore
import NIOCore
import ServerSupport

/// What every UDP socket's and RadSec connection's request loop is made of: the server's shared parts, and a new step
/// (with its own duplicate cache) per socket or connection.
struct RADIUSRequestLoop: Sendable {
    let delimiter: Character
    let duplicateWindow: TimeAmount
    let authenticator: any LoginAuthenticator
    let clock: any WallClock
    let audit: (any AuditSink)?
    let inFlight: InFlightRequests
    let drops: DropReport
    let counters: (any RADIUSCounters)?
    let availability: StoreAvailability?
    /// What an Access-Accept carries beyond Message-Authenticator and Proxy-State, over either transport.
    let replyRules: RADIUSReplyRules
    let logger: Logger

    /// A UDP socket's loop looks each datagram's client up in `clients`; a RadSec connection's serves
    /// `connectionClient` alone.
    func handler(clients: RADIUSClientTable, connectionClient: RADIUSClient? = nil, on loop: any EventLoop) -> RADIUSRequestHandler {
        let step = RADIUSRequestStep(
            clients: clients, delimiter: delimiter, duplicateWindow: duplicateWindow, clock: clock, counters: counters,
            availability: availability, replyRules: replyRules, logger: logger)
        return RADIUSRequestHandler(
            step: step, connectionClient: connectionClient, authenticator: authenticator, inFlight: inFlight, audit: audit,
            drops: drops, executor: EventLoopTaskExecutor(loop), logger: logger)
    }
}
