import CountersignConfig
import Foundation
import Logging
import MFACore
import NIOCore
import RADIUSCodec

/// `primary.source = "radius"`: a password is right when an upstream RADIUS server (NPS, a FreeRADIUS) answers
/// Access-Accept. Its Access-Challenge (a new-PIN or token prompt of its own) goes to the user, and the answer back
/// to the same server; chosen attributes of its Accept go on Countersign's.
public struct UpstreamRADIUSVerifier: PrimaryVerifier {
    public let client: UpstreamRADIUSClient
    private let passThrough: PassThroughFilter

    public init(client: UpstreamRADIUSClient, passThrough: PassThroughFilter) {
        self.client = client
        self.passThrough = passThrough
    }

    /// The verifier of `[primary]`: its servers' addresses looked up and secrets read now, `pass_through` checked
    /// against `dictionary`.
    public init(
        primary: PrimarySettings, dictionary: RADIUSDictionary, clock: any WallClock = SystemWallClock(),
        logger: Logger = Logger(label: "countersign.radius-upstream")
    ) throws(ConfigurationError) {
        var servers: [UpstreamRADIUSClient.Server] = []
        for (index, server) in primary.radius.enumerated() {
            servers.append(try Self.server(server, key: "primary.radius[\(index)]"))
        }
        guard !servers.isEmpty else {
            throw ConfigurationError(code: .missingKey, key: "primary.radius", message: "at least one server is required")
        }
        self.init(
            client: UpstreamRADIUSClient(servers: servers, clock: clock, logger: logger),
            passThrough: try PassThroughFilter(primary.passThrough, dictionary: dictionary))
    }

    public func verify(username: String, password: String, credentials: UserCredentials?) async -> PrimaryVerdict {
        let request = UpstreamAccessRequest(username: username, password: Array(password.utf8))
        guard request.fitsInAttributes else { return .invalid }
        guard let (server, reply) = await client.send(request) else { return .unavailable }
        return verdict(reply, from: server)
    }

    public func answer(username: String, response: String, state: [UInt8], credentials: UserCredentials?) async -> PrimaryVerdict {
        guard let challenge = UpstreamChallenge(state), challenge.server < client.servers.count else { return .invalid }
        let request = UpstreamAccessRequest(username: username, password: Array(response.utf8), state: challenge.state)
        guard request.fitsInAttributes else { return .invalid }
        guard let reply = await client.send(request, to: challenge.server) else { return .unavailable }
        return verdict(reply, from: challenge.server)
    }

    private func verdict(_ reply: RADIUSPacket, from server: Int) -> PrimaryVerdict {
        switch reply.code {
        case .accessAccept:
            return .valid(Grant(groups: [], attributes: passThrough.select(reply.attributes)))
        case .accessChallenge:
            // RFC 2865 §5.18: several Reply-Messages are one text, in order; a long one is split across them.
            let prompt = String(decoding: reply.attributes(.replyMessage).flatMap(\.value), as: UTF8.self)
            let state = reply.attribute(.state)?.value
            return .challenge(prompt: prompt, state: UpstreamChallenge(server: server, state: state).encoded)
        default:
            return .invalid  // Access-Reject: the check lets nothing else through
        }
    }

    private static func server(_ settings: UpstreamRADIUSSettings, key: String) throws(ConfigurationError) -> UpstreamRADIUSClient.Server {
        let address: SocketAddress
        do {
            address = try SocketAddress.makeAddressResolvingHost(settings.host, port: settings.port)
        } catch {
            throw ConfigurationError(code: .invalidValue, key: "\(key).address", message: "cannot resolve \(settings.host): \(error)")
        }
        var secret = settings.secret
        if let file = settings.secretFile {
            do {
                secret = try String(contentsOfFile: file, encoding: .utf8)
            } catch {
                throw ConfigurationError(code: .fileUnreadable, key: "\(key).secret_file", message: "cannot read \(file)")
            }
            if secret?.hasSuffix("\n") == true { secret?.removeLast() }
        }
        guard let secret, !secret.isEmpty else {
            throw ConfigurationError(code: .invalidValue, key: "\(key).secret", message: "must not be empty")
        }
        return UpstreamRADIUSClient.Server(
            address: address, label: settings.address, secret: Array(secret.utf8),
            timeout: .nanoseconds(Int64(settings.timeoutSeconds * 1e9)), requireMessageAuthenticator: settings.requireMessageAuthenticator)
    }
}

/// The opaque state of an upstream challenge, as the core keeps it until the user answers: which server asked, and
/// the State it sent (RFC 2865 §5.24: returned unmodified), if any.
struct UpstreamChallenge: Equatable {
    var server: Int
    var state: [UInt8]?

    init(server: Int, state: [UInt8]?) {
        self.server = server
        self.state = state
    }

    /// One octet of server index, one that says whether a State follows, then the State.
    var encoded: [UInt8] { [UInt8(server), state == nil ? 0 : 1] + (state ?? []) }

    init?(_ encoded: [UInt8]) {
        guard encoded.count >= 2, encoded[1] <= 1, encoded[1] == 1 || encoded.count == 2 else { return nil }
        server = Int(encoded[0])
        state = encoded[1] == 1 ? Array(encoded[2...]) : nil
    }
}
