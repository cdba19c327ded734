import Foundation
import Testing

@testable import CountersignConfig

@Suite("[[radius.reply]], radius.dictionary and directory groups")
struct RADIUSReplyConfigurationTests {
    @Test func rulesAreReadInFileOrderWithTheirLines() throws {
        let config = try parse(
            minimalClient + """

                [radius]
                dictionary = "dictionary.local"
                [[radius.reply]]
                group = "vpn-admins"
                attributes = ['Class = "OU=admins;"',
                    'Cisco-AVPair = "shell:priv-lvl=15"']
                [[radius.reply]]
                client = "nas"
                attributes = ['Filter-Id = "everyone"']
                """)
        #expect(config.radius.dictionary == "/etc/countersign/dictionary.local")
        let rules = config.radius.replyRules
        #expect(rules.map(\.group) == ["vpn-admins", nil])
        #expect(rules.map(\.client) == [nil, "nas"])
        #expect(rules[0].attributes.map(\.text) == [#"Class = "OU=admins;""#, #"Cisco-AVPair = "shell:priv-lvl=15""#])
        #expect(rules[0].attributes.map(\.location.line) == [9, 10])
        #expect(rules[0].attributes.map(\.key) == ["radius.reply[0].attributes[0]", "radius.reply[0].attributes[1]"])
        #expect(rules[1].attributes.map(\.location.line) == [13])
    }

    @Test func anUnknownClientAnEmptyListAndANonAssignmentAreRefused() {
        #expect(parseError(minimalClient + "\n[[radius.reply]]\nclient = \"asa\"\nattributes = ['Class = \"x\"']\n")?.key == "radius.reply[0].client")
        #expect(parseError(minimalClient + "\n[[radius.reply]]\nattributes = []\n")?.key == "radius.reply[0].attributes")
        #expect(parseError(minimalClient + "\n[[radius.reply]]\ngroup = \"g\"\n")?.code == .missingKey)
        let error = parseError(minimalClient + "\n[[radius.reply]]\nattributes = ['Class']\n")
        #expect(error?.key == "radius.reply[0].attributes[0]")
        #expect(error?.line == 6)
        #expect(parseError(minimalClient + "\n[[radius.reply]]\ncolour = 1\nattributes = ['Class = 1']\n")?.code == .unknownKey)
    }

    @Test func directoryGroupsNeedTheDirectoryAndOneWayOfFindingThem() throws {
        let ldap = "\n[ldap.upstream]\nurl = \"ldap://127.0.0.1\"\n[primary]\nsource = \"ldap\"\nbind_dn_template = \"uid={user},dc=x\"\n"
        let config = try parse(minimalClient + ldap + "group_attribute = \"memberOf\"\n")
        #expect(config.primary.groupAttribute == "memberOf")
        let search = try parse(minimalClient + ldap + "group_search_base = \"ou=groups,dc=x\"\n")
        #expect(search.primary.groupSearchFilter == "(member={dn})")
        #expect(parseError(minimalClient + ldap + "group_attribute = \"memberOf\"\ngroup_search_base = \"ou=g\"\n")?.key == "primary.group_attribute")
        #expect(parseError(minimalClient + ldap + "group_attribute = \"member of\"\n")?.key == "primary.group_attribute")
        #expect(parseError(minimalClient + "\n[primary]\ngroup_attribute = \"memberOf\"\n")?.key == "primary.group_attribute")
    }
}
