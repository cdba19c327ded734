/// The Identifiers in flight on each socket: RFC 2865 §3 gives a request one octet of Identifier, so one socket
/// has at most 256 requests outstanding (RFC 5080 §2.2.1: a new request, a new Identifier). More requests open
/// more sockets, up to `maximumSockets`; beyond that a request waits for a free Identifier.
struct UpstreamIdentifierTable: Sendable {
    struct Slot: Hashable, Sendable {
        var socket: Int
        var identifier: UInt8
    }

    enum Reservation: Equatable {
        /// `opensSocket`: the first Identifier on a socket not bound yet.
        case reserved(Slot, opensSocket: Bool)
        case full
    }

    let maximumSockets: Int
    private var inUse: [Set<UInt8>] = []
    /// Where each socket's search for a free Identifier starts: the one after its last, so that a late reply to a
    /// finished request meets a fresh request as rarely as possible.
    private var next: [UInt8] = []

    init(maximumSockets: Int) {
        precondition(maximumSockets >= 1)
        self.maximumSockets = maximumSockets
    }

    var inFlight: Int { inUse.reduce(0) { $0 + $1.count } }

    mutating func reserve() -> Reservation {
        for socket in inUse.indices where inUse[socket].count < 256 {
            var identifier = next[socket]
            while inUse[socket].contains(identifier) { identifier &+= 1 }
            inUse[socket].insert(identifier)
            next[socket] = identifier &+ 1
            return .reserved(Slot(socket: socket, identifier: identifier), opensSocket: false)
        }
        guard inUse.count < maximumSockets else { return .full }
        inUse.append([0])
        next.append(1)
        return .reserved(Slot(socket: inUse.count - 1, identifier: 0), opensSocket: true)
    }

    mutating func release(_ slot: Slot) {
        inUse[slot.socket].remove(slot.identifier)
    }
}
