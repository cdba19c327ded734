import MFACore
import RADIUSCodec

/// What the RADIUS server counts, after RFC 4669's server MIB: requests, replies and duplicates by client (its index
/// in `radius.clients`), drops by reason. Called on the request path: an implementation must not lock.
public protocol RADIUSCounters: Sendable {
    func accessRequestReceived(client: Int)
    func replySent(_ code: RADIUSCode, client: Int)
    func duplicateReceived(client: Int)
    func requestDropped(_ reason: DropReason)
}
