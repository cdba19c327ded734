import Foundation
import Testing

@testable import RADIUSCodec

@Suite struct RADIUSDictionaryTests {
    /// Debian's `freeradius-common` (installed with radclient's freeradius-utils).
    static let debianTree = "/usr/share/freeradius/dictionary"

    static func read(_ path: String) throws -> String { try String(contentsOfFile: path, encoding: .utf8) }

    /// A few files in memory, for `$INCLUDE` and errors.
    static func dictionary(_ files: [String: String], main: String = "main") throws(RADIUSDictionaryError) -> RADIUSDictionary {
        try RADIUSDictionary.load(file: main) { path in
            guard let text = files[path] else { throw CocoaError(.fileNoSuchFile) }
            return text
        }
    }

    static let sample = """
        # RFC 2865 types
        ATTRIBUTE	User-Name		1	string
        ATTRIBUTE	Framed-IP-Address	8	ipaddr
        ATTRIBUTE	Service-Type		6	integer
        ATTRIBUTE	Class			25	octets
        ATTRIBUTE	Session-Timeout		27	integer
        ATTRIBUTE	Event-Timestamp		55	date
        ATTRIBUTE	Framed-IPv6-Address	168	ipv6addr
        VALUE	Service-Type		Framed-User		2
        VALUE	Service-Type		Administrative-User	6
        $INCLUDE vendors/lucent
        """

    static let lucent = """
        VENDOR		Lucent		4846	format=2,1
        BEGIN-VENDOR	Lucent
        ATTRIBUTE	Lucent-Max-Shared-Users		2	integer
        ATTRIBUTE	Lucent-X25-X121-Source-Address	4	string
        ATTRIBUTE	Lucent-Long-Type		0x1001	string
        END-VENDOR	Lucent
        VENDOR		Cisco		9
        ATTRIBUTE	Cisco-AVPair	1	string	Cisco
        """

    @Test func debiansFullTreeLoads() throws {
        guard FileManager.default.fileExists(atPath: Self.debianTree) else {
            Issue.record("\(Self.debianTree) is missing: Scripts/install-dependencies installs freeradius-utils, which brings it")
            return
        }
        let dictionary = try RADIUSDictionary.load(file: Self.debianTree, read: Self.read)
        #expect(dictionary.attributeCount > 5000)
        #expect(dictionary.vendorCount > 150)
        #expect(dictionary.attribute(named: "Class")?.number == [25])
        #expect(dictionary.attribute(named: "Fortinet-Group-Name")?.vendor == 12356)
        #expect(dictionary.vendor(named: "Lucent")?.typeOctets == 2)
        #expect(dictionary.vendor(named: "USR")?.typeOctets == 4 && dictionary.vendor(named: "USR")?.lengthOctets == 0)
        let avpair = try dictionary.encode(#"Cisco-AVPair = "shell:priv-lvl=15""#)
        #expect(dictionary.decode(avpair)?.first?.value == "shell:priv-lvl=15")
    }

    @Test func theRFC2865TypesRoundTrip() throws {
        let dictionary = try Self.dictionary(["main": Self.sample, "vendors/lucent": Self.lucent])
        let cases: [(String, String, [UInt8])] = [
            (#"User-Name = "alice""#, "alice", Array("alice".utf8)),
            ("Framed-IP-Address = 192.0.2.7", "192.0.2.7", [192, 0, 2, 7]),
            ("Service-Type = Administrative-User", "Administrative-User", [0, 0, 0, 6]),
            ("Session-Timeout = 3600", "3600", [0, 0, 0x0e, 0x10]),
            ("Event-Timestamp = 1700000000", "1700000000", [0x65, 0x53, 0xf1, 0x00]),
            ("Class = 0x4f553d61", "0x4f553d61", [0x4f, 0x55, 0x3d, 0x61]),
            ("Framed-IPv6-Address = 2001:db8::1", "2001:db8::1", [0x20, 0x01, 0x0d, 0xb8] + [UInt8](repeating: 0, count: 11) + [1]),
        ]
        for (assignment, text, bytes) in cases {
            let attribute = try dictionary.encode(assignment)
            #expect(attribute.value == bytes, "\(assignment)")
            #expect(dictionary.decode(attribute)?.first?.value == text, "\(assignment)")
        }
        #expect(try dictionary.encode(#"Class = "OU=admins;""#).value == Array("OU=admins;".utf8))
    }

    @Test func aVendorWithTwoOctetTypesRoundTrips() throws {
        let dictionary = try Self.dictionary(["main": Self.sample, "vendors/lucent": Self.lucent])
        let shared = try dictionary.encode("Lucent-Max-Shared-Users = 3")
        // Vendor-Specific: Vendor-Id 4846, Vendor-Type in 2 octets, Vendor-Length in 1 (counting both), the value.
        #expect(shared.type == .vendorSpecific)
        #expect(shared.value == [0, 0, 0x12, 0xee, 0, 2, 7, 0, 0, 0, 3])
        #expect(dictionary.decode(shared)?.map(\.name) == ["Lucent-Max-Shared-Users"])
        #expect(dictionary.decode(shared)?.first?.value == "3")
        let long = try dictionary.encode(#"Lucent-Long-Type = "x""#)
        #expect(long.value == [0, 0, 0x12, 0xee, 0x10, 0x01, 4, 0x78])
        // The old form: the vendor named after the type.
        #expect(try dictionary.encode(#"Cisco-AVPair = "shell:priv-lvl=15""#).value.prefix(6) == [0, 0, 0, 9, 1, 19])
    }

    @Test(arguments: [
        ("ATTRIBUTE Foo 1", 2, "ATTRIBUTE takes"),
        ("ATTRIBUTE Foo 1 nosuchtype", 2, "unknown type"),
        ("VALUE Service-Type Framed", 2, "VALUE takes"),
        ("BEGIN-VENDOR Nobody", 2, "unknown vendor"),
        ("FROBNICATE x", 2, "unknown keyword"),
        ("VENDOR X 7 format=3,1", 2, "bad VENDOR format"),
    ])
    func errorsNameTheFileAndTheLine(line: String, number: Int, message: String) throws {
        let text = "ATTRIBUTE User-Name 1 string\n" + line + "\n"
        #expect {
            try Self.dictionary(["main": "$INCLUDE sub/bad\n", "sub/bad": text])
        } throws: { error in
            guard let error = error as? RADIUSDictionaryError else { return false }
            return error.file == "sub/bad" && error.line == number && error.message.contains(message)
        }
    }

    @Test func aMissingIncludeNamesTheFileAndAnIncludeLoopStops() {
        #expect(throws: RADIUSDictionaryError.self) { try Self.dictionary(["main": "$INCLUDE gone\n"]) }
        #expect(throws: RADIUSDictionaryError.self) { try Self.dictionary(["main": "$INCLUDE main\n"]) }
        #expect(throws: Never.self) { try Self.dictionary(["main": "$INCLUDE- gone\n"]) }
    }

    @Test func unknownNamesAndBadValuesAreRefused() throws {
        let dictionary = try Self.dictionary(["main": Self.sample, "vendors/lucent": Self.lucent])
        #expect(throws: RADIUSValueError.self) { try dictionary.encode("No-Such-Attribute = 1") }
        #expect(throws: RADIUSValueError.self) { try dictionary.encode("Framed-IP-Address = 300.1.1.1") }
        #expect(throws: RADIUSValueError.self) { try dictionary.encode("Service-Type = Nonsense") }
        #expect(throws: RADIUSValueError.self) { try dictionary.encode("Class") }
    }
}
