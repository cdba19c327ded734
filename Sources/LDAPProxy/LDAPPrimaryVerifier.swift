import CountersignConfig
import LDAPCodec
import Logging
import MFACore
import NIOCore
import NIOPosix
import NIOSSL

/// `primary.source = "ldap"`: a RADIUS password is right when the directory accepts a bind with it, as the DN
/// from `primary.bind_dn_template`, or as the entry a service account finds by `primary.search_attribute`.
public struct LDAPPrimaryVerifier: PrimaryVerifier {
    private let upstream: LDAPUpstreamSettings
    private let tls: NIOSSLContext?
    private let primary: PrimarySettings
    private let maximumMessageSize: Int
    private let group: any EventLoopGroup
    private let logger: Logger

    public init(
        ldap: LDAPSettings, primary: PrimarySettings, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger = Logger(label: "countersign.ldap")
    ) throws {
        if primary.groupSearchBase != nil { _ = try Self.groupFilter(primary.groupSearchFilter, dn: "", user: "") }
        self.upstream = ldap.upstream
        self.tls = try ldap.upstream.makeTLSContext()
        self.primary = primary
        self.maximumMessageSize = ldap.maximumMessageSize
        self.group = group
        self.logger = logger
    }

    public func verify(username: String, password: String, credentials: UserCredentials?) async -> PrimaryVerdict {
        // RFC 4513 §5.1.2: a bind with an empty password is "unauthenticated" and may succeed: never ask that.
        guard !password.isEmpty, !username.isEmpty else { return .invalid }
        let conversation: LDAPConversation
        do {
            conversation = try await LDAPConversation.open(
                upstream, tls: tls, maximumMessageSize: maximumMessageSize, on: group.next())
        } catch {
            logger.warning("cannot reach the directory to check a password", metadata: ["error": "\(error)"])
            return .unavailable
        }
        defer { conversation.close() }
        do {
            let dn: String
            if let template = primary.bindDNTemplate {
                dn = template.replacingOccurrences(of: "{user}", with: LDAPBindPolicy.escape(username))
            } else {
                guard try await conversation.bind(primary.serviceDN ?? "", password: primary.servicePassword ?? "") == .success else {
                    logger.error("the directory refused the service account (primary.service_dn)")
                    return .unavailable
                }
                guard let found = try await conversation.findEntry(
                    base: primary.searchBase ?? "", attribute: primary.searchAttribute, value: username)
                else { return .invalid }
                dn = found
            }
            guard try await conversation.bind(dn, password: password) == .success else { return .invalid }
            return .valid(Grant(groups: try await groups(of: dn, user: username, on: conversation)))
        } catch {
            logger.warning("directory error while checking a password", metadata: ["error": "\(error)"])
            return .unavailable
        }
    }
}

extension LDAPPrimaryVerifier {
    /// The user's directory groups, read as the user just bound (`primary.group_attribute` on its entry, or the
    /// entries `primary.group_search_filter` finds): each known by the value of its DN's first RDN.
    func groups(of dn: String, user: String, on conversation: LDAPConversation) async throws -> [String] {
        let groupDNs: [String]
        if let attribute = primary.groupAttribute {
            groupDNs = try await conversation.attributeValues(of: dn, attribute: attribute)
        } else if let base = primary.groupSearchBase {
            groupDNs = try await conversation.entries(base: base, filter: Self.groupFilter(primary.groupSearchFilter, dn: dn, user: user))
        } else {
            return []
        }
        return groupDNs.compactMap(Self.firstRDNValue)
    }

    /// The template with `{dn}` and `{user}` escaped into it (RFC 4515 §3), so a name can only be a value.
    static func groupFilter(_ template: String, dn: String, user: String) throws -> LDAPFilter {
        let text = template.replacingOccurrences(of: "{dn}", with: LDAPFilter.escape(dn))
            .replacingOccurrences(of: "{user}", with: LDAPFilter.escape(user))
        do {
            return try LDAPFilter(parsing: text)
        } catch {
            throw ConfigurationError(code: .invalidValue, key: "primary.group_search_filter", message: "\(error) in \"\(template)\"")
        }
    }

    /// `cn=vpn-admins,ou=groups,dc=example,dc=org` → `vpn-admins` (RFC 4514 §3: `\,` and `\XX` escapes undone; of a
    /// multi-valued RDN, the first value).
    static func firstRDNValue(_ dn: String) -> String? {
        var bytes: [UInt8] = []
        var input = Array(dn.utf8)[...]
        guard let equals = input.firstIndex(of: UInt8(ascii: "=")) else { return nil }
        input = input[(equals + 1)...]
        while let byte = input.popFirst() {
            if byte == UInt8(ascii: ",") || byte == UInt8(ascii: "+") { break }
            guard byte == UInt8(ascii: "\\"), let next = input.popFirst() else {
                bytes.append(byte)
                continue
            }
            if let high = UInt8(String(UnicodeScalar(next)), radix: 16), let low = input.first.flatMap({ UInt8(String(UnicodeScalar($0)), radix: 16) }) {
                input = input.dropFirst()
                bytes.append(high << 4 | low)
            } else {
                bytes.append(next)
            }
        }
        let value = String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespaces)
        return value.isEmpty ? nil : value
    }
}

/// Request and response over one directory connection, for the checks above.
final class LDAPConversation: Sendable {
    private let connection: NIOLoopBound<LDAPUpstream>
    private let eventLoop: any EventLoop
    private let pending: NIOLoopBoundBox<[Int32: (messages: [LDAPMessage], promise: EventLoopPromise<[LDAPMessage]>)]>
    private let nextID: NIOLoopBoundBox<Int32>
    private let timeout: TimeAmount

    private init(_ connection: LDAPUpstream, eventLoop: any EventLoop, timeout: TimeAmount) {
        self.connection = NIOLoopBound(connection, eventLoop: eventLoop)
        self.eventLoop = eventLoop
        self.pending = NIOLoopBoundBox([:], eventLoop: eventLoop)
        self.nextID = NIOLoopBoundBox(1, eventLoop: eventLoop)
        self.timeout = timeout
    }

    static func open(
        _ settings: LDAPUpstreamSettings, tls: NIOSSLContext?, maximumMessageSize: Int, on eventLoop: any EventLoop
    ) async throws -> LDAPConversation {
        try await eventLoop.flatSubmit {
            LDAPUpstream.connect(settings, tls: tls, maximumMessageSize: maximumMessageSize, on: eventLoop)
                .assumeIsolated()
                .map { connection -> LDAPConversation in
                    let conversation = LDAPConversation(
                        connection, eventLoop: eventLoop, timeout: .seconds(Int64(settings.timeoutSeconds)))
                    connection.onMessage = { conversation.received($0) }
                    connection.onClose = { conversation.failAll(LDAPUpstreamError.closed) }
                    return conversation
                }
                .nonisolated()
        }.get()
    }

    func bind(_ dn: String, password: String) async throws -> LDAPResultCode {
        let responses = try await request { id in
            LDAPMessage(
                messageID: id,
                protocolOp: .bindRequest(LDAPBindRequest(version: 3, name: dn, authentication: .simple(password: Array(password.utf8)))),
                controls: nil)
        }
        guard case .bindResponse(let result, _) = responses.last?.protocolOp else { throw LDAPUpstreamError.closed }
        return result.resultCode
    }

    /// The DN of the one entry with `attribute=value` under `base`; nil when there is none or more than one.
    func findEntry(base: String, attribute: String, value: String) async throws -> String? {
        let responses = try await request { id in
            LDAPMessage.searchForEntry(messageID: id, base: base, attribute: attribute, value: value)
        }
        let entries = responses.compactMap { LDAPMessage.searchResultEntryDN($0.protocolOp) }
        return entries.count == 1 ? entries[0] : nil
    }

    /// The values of `attribute` on the entry `dn` (a base-object search).
    func attributeValues(of dn: String, attribute: String) async throws -> [String] {
        let responses = try await request { id in
            LDAPMessage.search(
                messageID: id, base: dn, scope: .baseObject, filter: .present(attribute: "objectClass"), sizeLimit: 1,
                attributes: [attribute])
        }
        return responses.compactMap { LDAPMessage.searchResultEntry($0.protocolOp) }
            .flatMap { $0.attributes[attribute.lowercased()] ?? [] }
    }

    /// The DNs of the entries under `base` that `filter` matches (at most 1,000: a user in more groups than that
    /// is a directory to fix, not to page through).
    func entries(base: String, filter: LDAPFilter) async throws -> [String] {
        let responses = try await request { id in
            LDAPMessage.search(messageID: id, base: base, scope: .wholeSubtree, filter: filter, sizeLimit: 1000, attributes: ["1.1"])
        }
        return responses.compactMap { LDAPMessage.searchResultEntryDN($0.protocolOp) }
    }

    private func request(_ make: @escaping @Sendable (Int32) -> LDAPMessage) async throws -> [LDAPMessage] {
        try await eventLoop.flatSubmit { [self] in
            let id = nextID.value
            nextID.value += 1
            let promise = eventLoop.makePromise(of: [LDAPMessage].self)
            pending.value[id] = ([], promise)
            connection.value.send(make(id).encoded())
            let deadline = eventLoop.scheduleTask(in: timeout) { [self] in
                pending.value.removeValue(forKey: id)?.promise.fail(LDAPUpstreamError.timedOut)
            }
            promise.futureResult.whenComplete { _ in deadline.cancel() }
            return promise.futureResult
        }.get()
    }

    /// Collects a request's responses until its final one (BindResponse, SearchResultDone).
    private func received(_ frame: [UInt8]) {
        guard let message = try? LDAPMessage(decoding: frame), var entry = pending.value[message.messageID] else { return }
        entry.messages.append(message)
        let final: Bool
        switch message.protocolOp {
        case .bindResponse, .extendedResponse: final = true
        default: final = LDAPMessage.searchResultDone(message.protocolOp) != nil
        }
        if final {
            pending.value.removeValue(forKey: message.messageID)
            entry.promise.succeed(entry.messages)
        } else {
            pending.value[message.messageID] = entry
        }
    }

    private func failAll(_ error: any Error) {
        let all = pending.value
        pending.value = [:]
        for entry in all.values { entry.promise.fail(error) }
    }

    func close() {
        eventLoop.execute { [connection] in connection.value.close() }
    }
}
