/// A JSON array of objects with the CSV's keys (`username` required; `password`, `totp_secret`, `mfa`, `groups`),
/// each a string or null; `groups` may also be an array of strings. Parsed as a stream, one object at a time, so a
/// file of any size takes the same memory. A record's line is the line of its `{`.
public final class JSONUserReader: UserRecordReader {
    private let source: ByteSource
    private var checker = RecordChecker()
    private var line = 1
    private enum Position { case start, inArray, done }
    private var position = Position.start
    private var text: [UInt8] = []

    public var warnings: [ImportWarning] { checker.warnings.all }
    public var bytesRead: Int { source.bytesRead }
    public var totalBytes: Int? { source.totalBytes }

    public init(_ source: ByteSource) {
        self.source = source
    }

    public func next() throws -> ImportRecord? {
        switch position {
        case .done:
            return nil
        case .start:
            if try source.peek() == 0xEF {
                for _ in 0..<3 { _ = try source.next() }  // a UTF-8 byte order mark
            }
            try expect(UInt8(ascii: "["), "the file must be a JSON array of objects")
            if try skipSpace() == UInt8(ascii: "]") {
                _ = try source.next()
                try finish()
                return nil
            }
            position = .inArray
        case .inArray:
            switch try skipSpace() {
            case UInt8(ascii: ","):
                _ = try source.next()
            case UInt8(ascii: "]"):
                _ = try source.next()
                try finish()
                return nil
            default:
                throw syntax("expected , or ] after an object")
            }
        }
        return try readObject()
    }

    private func readObject() throws -> ImportRecord {
        guard try skipSpace() == UInt8(ascii: "{") else { throw syntax("expected an object, {…}") }
        let start = line
        _ = try source.next()
        var values: [ImportField: String] = [:]
        var groupList: [String]?
        var seen: Set<ImportField> = []
        if try skipSpace() == UInt8(ascii: "}") {
            _ = try source.next()
        } else {
            while true {
                guard try skipSpace() == UInt8(ascii: "\"") else { throw syntax("expected a key in double quotes") }
                let keyLine = line
                let key = try readString()
                guard let field = ImportField(rawValue: key) else {
                    throw ImportError(.unknownColumn, line: keyLine, "unknown key \"\(key)\" (known: \(ImportField.known))")
                }
                guard seen.insert(field).inserted else {
                    throw ImportError(.unknownColumn, line: keyLine, "key \"\(key)\" appears twice in one object")
                }
                try expect(UInt8(ascii: ":"), "expected : after a key")
                switch try skipSpace() {
                case UInt8(ascii: "\""):
                    values[field] = try readString()
                case UInt8(ascii: "[") where field == .groups:
                    groupList = try readStringArray()
                case UInt8(ascii: "n"):
                    for expected in "null".utf8 {
                        guard try source.next() == expected else { throw syntax("expected a string or null") }
                    }
                default:
                    let allowed = field == .groups ? "a string, an array of strings or null" : "a string or null"
                    throw ImportError(.badValue, line: line, "\(key) must be \(allowed)")
                }
                let separator = try skipSpace()
                _ = try source.next()
                if separator == UInt8(ascii: "}") { break }
                guard separator == UInt8(ascii: ",") else { throw syntax("expected , or } in an object") }
            }
        }
        return try checker.record(
            line: start, username: values[.username] ?? "", password: values[.password], totpSecret: values[.totpSecret],
            mfa: values[.mfa], groups: groupList.map(GroupsField.list) ?? values[.groups].map(GroupsField.separated))
    }

    /// `[` peeked: strings separated by commas up to `]`.
    private func readStringArray() throws -> [String] {
        _ = try source.next()
        var strings: [String] = []
        if try skipSpace() == UInt8(ascii: "]") {
            _ = try source.next()
            return strings
        }
        while true {
            guard try skipSpace() == UInt8(ascii: "\"") else {
                throw ImportError(.badValue, line: line, "groups must be an array of strings")
            }
            strings.append(try readString())
            let separator = try skipSpace()
            _ = try source.next()
            if separator == UInt8(ascii: "]") { return strings }
            guard separator == UInt8(ascii: ",") else { throw syntax("expected , or ] in an array") }
        }
    }

    /// After `]`: only white space may follow.
    private func finish() throws {
        position = .done
        guard try skipSpace() == nil else { throw syntax("text after the closing ]") }
    }

    /// Skips white space, counting lines; returns the next byte without consuming it.
    private func skipSpace() throws -> UInt8? {
        while let byte = try source.peek() {
            switch byte {
            case UInt8(ascii: "\n"): line += 1
            case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\r"): break
            default: return byte
            }
            _ = try source.next()
        }
        return nil
    }

    private func expect(_ byte: UInt8, _ message: String) throws {
        guard try skipSpace() == byte else { throw syntax(message) }
        _ = try source.next()
    }

    /// A string after its opening quote has been peeked: RFC 8259 escapes, UTF-16 surrogate pairs.
    private func readString() throws -> String {
        _ = try source.next()
        text.removeAll(keepingCapacity: true)
        while true {
            guard let byte = try source.next() else { throw syntax("a string is not closed") }
            switch byte {
            case UInt8(ascii: "\""):
                guard let string = String(validating: text, as: UTF8.self) else { throw syntax("not UTF-8 text") }
                return string
            case UInt8(ascii: "\\"):
                guard let escaped = try source.next() else { throw syntax("a string is not closed") }
                switch escaped {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): text.append(escaped)
                case UInt8(ascii: "b"): text.append(0x08)
                case UInt8(ascii: "f"): text.append(0x0C)
                case UInt8(ascii: "n"): text.append(0x0A)
                case UInt8(ascii: "r"): text.append(0x0D)
                case UInt8(ascii: "t"): text.append(0x09)
                case UInt8(ascii: "u"): try readUnicodeEscape()
                default: throw syntax("unknown escape \\\(Character(Unicode.Scalar(escaped)))")
                }
            case 0..<0x20:
                throw syntax("a control character inside a string (escape it)")
            default:
                text.append(byte)
            }
        }
    }

    private func readUnicodeEscape() throws {
        var unit = try readHex4()
        if (0xD800..<0xDC00).contains(unit) {
            guard try source.next() == UInt8(ascii: "\\"), try source.next() == UInt8(ascii: "u") else {
                throw syntax("a lone UTF-16 surrogate")
            }
            let low = try readHex4()
            guard (0xDC00..<0xE000).contains(low) else { throw syntax("a lone UTF-16 surrogate") }
            unit = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00)
        }
        guard let scalar = Unicode.Scalar(unit) else { throw syntax("a lone UTF-16 surrogate") }
        text.append(contentsOf: String(Character(scalar)).utf8)
    }

    private func readHex4() throws -> UInt32 {
        var value: UInt32 = 0
        for _ in 0..<4 {
            guard let byte = try source.next(), let digit = Self.hexValue(byte) else { throw syntax("a bad \\u escape") }
            value = value << 4 | digit
        }
        return value
    }

    private static func hexValue(_ byte: UInt8) -> UInt32? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): UInt32(byte - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): UInt32(byte - UInt8(ascii: "a") + 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): UInt32(byte - UInt8(ascii: "A") + 10)
        default: nil
        }
    }

    private func syntax(_ message: String) -> ImportError {
        ImportError(.syntax, line: line, message)
    }
}
