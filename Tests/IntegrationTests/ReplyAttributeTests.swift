import CountersignApp
import CountersignConfig
import Foundation
import MFACore
import Testing

/// `[[radius.reply]]` as a VPN sees it: radclient, with FreeRADIUS's own dictionaries, prints the Access-Accept's
/// attributes by name; a group member gets the group's, others do not, whichever way the second factor came.
@Suite struct ReplyAttributeTests {
    static let adminRules = [
        RADIUSReplyRule(
            group: "vpn-admins",
            attributes: [
                .init(text: #"Class = "OU=admins;""#, key: "radius.reply[0].attributes[0]"),
                .init(text: #"Cisco-AVPair = "shell:priv-lvl=15""#, key: "radius.reply[0].attributes[1]"),
                .init(text: #"Fortinet-Group-Name = "vpn-admins""#, key: "radius.reply[0].attributes[2]"),
            ]),
        // Every user of one client: the rule's client must match.
        RADIUSReplyRule(client: "local", attributes: [.init(text: #"Filter-Id = "everyone""#, key: "radius.reply[1].attributes[0]")]),
        RADIUSReplyRule(client: "local6", attributes: [.init(text: #"Filter-Id = "v6-only""#, key: "radius.reply[2].attributes[0]")]),
    ]

    static func expectAdmin(_ reply: Radclient.Reply, _ isAdmin: Bool) {
        #expect(reply.code == "Access-Accept", "\(reply.output)")
        #expect(reply.values("Class") == (isAdmin ? ["0x4f553d61646d696e733b"] : []) || reply.values("Class") == (isAdmin ? ["OU=admins;"] : []),
            "\(reply.output)")
        #expect(reply.values("Cisco-AVPair") == (isAdmin ? ["shell:priv-lvl=15"] : []), "\(reply.output)")
        #expect(reply.values("Fortinet-Group-Name") == (isAdmin ? ["vpn-admins"] : []), "\(reply.output)")
        #expect(reply.values("Filter-Id") == ["everyone"], "\(reply.output)")
    }

    @Test func aGroupMemberGetsTheGroupsAttributesForAnAppendedCodeAndAChallengeAnswer() async throws {
        // Each login uses a code of a later step than the user's last (no code is accepted twice).
        let clock = ManualWallClock(Date())
        try await TestGateway.with(replyRules: Self.adminRules, clock: clock) { gateway in
            let alice = try await gateway.addUser("alice", password: "alice-pw")
            let bob = try await gateway.addUser("bob", password: "bob-pw")
            try await gateway.admin.addGroup("vpn-admins")
            try await gateway.admin.changeMembers(of: "vpn-admins", adding: ["alice"])
            let client = gateway.radclient()

            Self.expectAdmin(try await client.send(RADIUSGatewayTests.login("alice", "alice-pw,\(gateway.code(alice))")), true)
            Self.expectAdmin(try await client.send(RADIUSGatewayTests.login("bob", "bob-pw,\(gateway.code(bob))")), false)

            // The challenge carries none of them; its answer's Accept does.
            let challenge = try await client.send(RADIUSGatewayTests.login("alice", "alice-pw"))
            #expect(challenge.code == "Access-Challenge")
            #expect(challenge.values("Class").isEmpty && challenge.values("Filter-Id").isEmpty, "\(challenge.output)")
            let state = try #require(challenge.value("State"))
            clock.advance(by: 30)
            let answer = try await client.send(RADIUSGatewayTests.login("alice", gateway.code(alice), extra: ["State = \(state)"]))
            Self.expectAdmin(answer, true)

            // A Reject carries none either.
            let reject = try await client.send(RADIUSGatewayTests.login("alice", "wrong,\(gateway.code(alice))"))
            #expect(reject.code == "Access-Reject")
            #expect(reject.values("Class").isEmpty && reject.values("Filter-Id").isEmpty)

            // The other client's rule applies to it alone.
            let other = try await gateway.radclient(ipv6: true).send(RADIUSGatewayTests.login("bob", "bob-pw,\(gateway.code(bob))"))
            #expect(other.values("Filter-Id") == ["v6-only"], "\(other.output)")

            // Out of the group: the next Accept has none of its attributes.
            try await gateway.admin.changeMembers(of: "vpn-admins", removing: ["alice"])
            clock.advance(by: 30)
            let after = try await client.send(RADIUSGatewayTests.login("alice", "alice-pw,\(gateway.code(alice))"))
            Self.expectAdmin(after, false)
        }
    }

    @Test func anApprovedPushCarriesTheGroupsAttributes() async throws {
        try await TestGateway.with(replyRules: Self.adminRules) { gateway in
            try await gateway.addUser("alice", password: "alice-pw", totp: false)
            try await gateway.admin.addGroup("vpn-admins")
            try await gateway.admin.changeMembers(of: "vpn-admins", adding: ["alice"])
            let device = try gateway.listen(try await gateway.enrollDevice("alice"), "--approve", count: 1)
            defer { device.terminate() }
            Self.expectAdmin(try await gateway.radclient(timeout: 20).send(RADIUSGatewayTests.login("alice", "alice-pw")), true)
            #expect(try await device.exitStatus() == 0)
        }
    }

    @Test func directoryGroupsFromMemberOfAndFromAGroupSearch() async throws {
        try await TestDirectory.with { directory in
            var ldap = LDAPSettings(upstream: LDAPUpstreamSettings(url: directory.url))
            ldap.listen = nil
            let byMemberOf = PrimarySettings(source: .ldap, bindDNTemplate: "uid={user},ou=people,dc=example,dc=org", groupAttribute: "memberOf")
            let bySearch = PrimarySettings(
                source: .ldap, searchBase: "ou=people,dc=example,dc=org", serviceDN: TestDirectory.serviceDN, servicePassword: "app-pw",
                groupSearchBase: "ou=groups,dc=example,dc=org", groupSearchFilter: "(&(objectClass=groupOfNames)(member={dn}))")
            for primary in [byMemberOf, bySearch] {
                try await TestGateway.with(ldap: ldap, primary: primary, replyRules: Self.adminRules) { gateway in
                    let alice = try await gateway.addLocalUser("alice")
                    let bob = try await gateway.addLocalUser("bob")
                    let client = gateway.radclient()
                    // alice is in vpn-admins in the directory, bob only in staff; neither in a local group.
                    Self.expectAdmin(try await client.send(RADIUSGatewayTests.login("alice", "alice-pw,\(gateway.code(alice))")), true)
                    Self.expectAdmin(try await client.send(RADIUSGatewayTests.login("bob", "bob-pw,\(gateway.code(bob))")), false)
                    // The directory's groups survive the challenge round trip (kept with the State).
                    let challenge = try await client.send(RADIUSGatewayTests.login("alice", "alice-pw"))
                    let state = try #require(challenge.value("State"), "\(challenge.output)")
                    Self.expectAdmin(
                        try await client.send(RADIUSGatewayTests.login("alice", gateway.code(alice, stepOffset: 1), extra: ["State = \(state)"])), true)
                }
            }
        }
    }
}
