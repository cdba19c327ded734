import CountersignConfig
import Testing

@testable import LDAPProxy

/// The bind decisions that need no directory (the proxy's own RFC 4513 rules and exemptions).
@Suite struct LDAPBindPolicyTests {
    let policy = LDAPBindPolicy(
        settings: LDAPSettings(exempt: ["ou=services,dc=example,dc=org", "cn=caf\u{E9},dc=example,dc=org"]), delimiter: ",")

    @Test func exemptionsMatchTheDNOrItsSuffixOctetForOctet() {
        #expect(policy.isExempt("cn=app,ou=services,dc=example,dc=org"))
        #expect(policy.isExempt("CN=App, OU=Services, DC=Example, DC=Org"))
        #expect(policy.isExempt("ou=services,dc=example,dc=org"))
        #expect(!policy.isExempt("cn=app,ou=servicesx,dc=example,dc=org"))
        #expect(!policy.isExempt("cn=x,ou=people,dc=example,dc=org"))
        #expect(policy.isExempt("cn=caf\u{E9},dc=example,dc=org"))
        // The same name spelled with a combining accent is another DN to the directory: not exempt.
        #expect(!policy.isExempt("cn=cafe\u{301},dc=example,dc=org"))
        #expect(!LDAPBindPolicy(settings: LDAPSettings(), delimiter: ",").isExempt("ou=services,dc=example,dc=org"))
    }

    @Test func rfc4513Rules() {
        #expect(policy.decide(name: "", password: []) == .refuse(.anonymousNotAllowed))
        #expect(policy.decide(name: "uid=alice,dc=example,dc=org", password: []) == .refuse(.unauthenticatedBind))
        #expect(policy.decide(name: "", password: Array("x".utf8)) == .refuse(.passwordWithoutName))
        #expect(
            policy.decide(name: "uid=alice,ou=people,dc=example,dc=org", password: Array("pw,123456".utf8))
                == .withSecondFactor(username: "alice", password: Array("pw".utf8), factor: .code("123456")))
    }

    @Test func usernamesFromBindNames() {
        #expect(policy.username(fromBindName: "uid=alice,ou=people,dc=example,dc=org") == "alice")
        #expect(policy.username(fromBindName: "UID = bob , ou=people") == "bob")
        #expect(policy.username(fromBindName: "uid=a\\,b,ou=people") == "a,b")
        #expect(policy.username(fromBindName: "alice@example.org") == "alice")
        #expect(policy.username(fromBindName: "cn=Alice Smith,ou=people") == "cn=Alice Smith,ou=people")
        #expect(policy.username(fromBindName: "uid=zo\u{EB},ou=people") == "zo\u{EB}")
        // RFC 4514 separates at the octet: a comma followed by a combining mark still ends the RDN.
        #expect(policy.username(fromBindName: "uid=x,\u{301}ou=people") == "x")
        #expect(LDAPBindPolicy.escape("a,b+c") == "a\\,b\\+c")
    }
}
