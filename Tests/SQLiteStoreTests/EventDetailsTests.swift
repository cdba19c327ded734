import Foundation
import MFACore
import Testing

@testable import SQLiteStore

/// Event details are stored as a JSON object written by hand; JSONDecoder must read back exactly what went in.
@Suite struct EventDetailsTests {
    @Test(arguments: [
        [:],
        ["push_id": "abc", "device_id": "d1"],
        ["quote": "say \"hi\"", "back\\slash": "a\\b", "controls": "\u{0}\u{1}\n\r\t\u{1F}", "unicode": "jürgen 🔐 \u{2028}"],
    ])
    func roundTrips(_ details: [String: String]) throws {
        let encoded = StoredEvent.encodeDetails(details)
        #expect(try JSONDecoder().decode([String: String].self, from: Data(encoded.utf8)) == details)
    }

    @Test func keysAreSorted() {
        #expect(StoredEvent.encodeDetails(["b": "2", "a": "1"]) == #"{"a":"1","b":"2"}"#)
    }

    /// RFC 8259 §7: the two-character escapes where JSON has them, \u with four lower-case hex digits for the other
    /// controls, everything else (other languages, emoji) as it is.
    @Test func escapesAsRFC8259Says() {
        #expect(JSONText.quoted("a\"b\\c\n\r\t\u{0}\u{1F}é🔐") == #""a\"b\\c\n\r\t\u0000\u001fé🔐""#)
    }
}
