import CountersignConfig
import Foundation
import MFACore
import RADIUSCodec
import RADIUSServer

/// `countersign group …` and what `user show --client` tells of a user's groups and reply attributes.
extension CountersignAdmin {
    public func addGroup(_ name: String) async throws {
        try await store.addGroup(name, at: clock.now())
        await recordGroup(.groupAdded, name, details: [:])
    }

    public func deleteGroup(_ name: String) async throws {
        try await store.deleteGroup(name)
        await recordGroup(.groupDeleted, name, details: [:])
    }

    public func groups() async throws -> [GroupSummary] {
        try await store.groups()
    }

    public func members(ofGroup name: String) async throws -> [String] {
        try await store.members(ofGroup: name)
    }

    /// One event per change, naming each user it concerns in `details`.
    public func changeMembers(of group: String, adding users: [String]) async throws {
        try await store.addMembers(users, toGroup: group)
        await recordGroup(.groupMembersChanged, group, details: ["added": users.joined(separator: ";")])
    }

    public func changeMembers(of group: String, removing users: [String]) async throws {
        try await store.removeMembers(users, fromGroup: group)
        await recordGroup(.groupMembersChanged, group, details: ["removed": users.joined(separator: ";")])
    }

    /// The user's local groups, and the attributes `client`'s Access-Accept would carry for them by the reply rules
    /// (as `Name = value` lines; directory groups and an upstream server's attributes are known only at login).
    public func replyPreview(for user: String, client: String?, configuration: CountersignConfiguration) async throws -> (groups: [String], attributes: [String]?) {
        _ = try await self.user(user)
        let groups = try await store.groups(of: user)
        guard let client else { return (groups, nil) }
        let radius = configuration.radius
        guard radius.clients.contains(where: { $0.name == client }) else {
            throw ConfigurationError(code: .invalidValue, key: "--client", message: "no [[radius.clients]] entry is named \"\(client)\"")
        }
        // The dictionary `serve` would load.
        let dictionary = try CountersignGateway.dictionary(configuration)
        let rules = try RADIUSReplyRules(radius.replyRules, dictionary: dictionary)
        let attributes = rules.attributes(for: Grant(groups: groups), client: client).map { attribute in
            (dictionary.decode(attribute) ?? [("Attr-\(attribute.type.rawValue)", "0x" + attribute.value.map { String(format: "%02x", $0) }.joined())])
                .map { "\($0.name) = \"\($0.value)\"" }.joined(separator: "\n")
        }
        return (groups, attributes)
    }

    private func recordGroup(_ type: AuditEventType, _ group: String, details: [String: String]) async {
        var details = details
        details["group"] = group
        await audit.record(AuditEvent(time: clock.now(), type: type, user: nil, resource: actor, result: .success, details: details))
    }
}
