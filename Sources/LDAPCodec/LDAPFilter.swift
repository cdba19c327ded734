import SwiftASN1

/// A search filter in the string form of RFC 4515, the subset a configuration names: `&`, `|`, `!`, equality and
/// presence (`(member=…)`, `(objectClass=*)`). Values keep RFC 4515's `\XX` escapes until they are parsed.
public indirect enum LDAPFilter: Sendable, Equatable {
    case and([LDAPFilter])
    case or([LDAPFilter])
    case not(LDAPFilter)
    case equality(attribute: String, value: [UInt8])
    case present(attribute: String)

    public struct ParseError: Error, Sendable, Equatable, CustomStringConvertible {
        public var message: String
        public var description: String { message }
    }

    /// RFC 4515 §3: `filter = "(" filtercomp ")"`.
    public init(parsing text: String) throws(ParseError) {
        var parser = Parser(bytes: Array(text.utf8))
        self = try parser.filter()
        guard parser.atEnd else { throw ParseError(message: "unexpected text after the filter") }
    }

    /// `value` escaped for a filter's assertion value (RFC 4515 §3: `*`, `(`, `)`, `\` and NUL as `\XX`), so that a
    /// user name or DN put in a template can only be a value.
    public static func escape(_ value: String) -> String {
        String(decoding: escapedBytes(value), as: UTF8.self)
    }

    private static func escapedBytes(_ value: String) -> [UInt8] {
        var out: [UInt8] = []
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "*"), UInt8(ascii: "("), UInt8(ascii: ")"), UInt8(ascii: "\\"), 0:
                out += Array(("\\" + String(byte, radix: 16).leftPadded(to: 2)).utf8)
            default:
                out.append(byte)
            }
        }
        return out
    }

    /// RFC 4511 §4.5.1.7: the Filter CHOICE in BER.
    func serialize(into coder: inout DER.Serializer) {
        switch self {
        case .and(let filters), .or(let filters):
            let tag: UInt = if case .and = self { 0 } else { 1 }
            coder.appendConstructedNode(identifier: ASN1Identifier(tagWithNumber: tag, tagClass: .contextSpecific)) { coder in
                for filter in filters { filter.serialize(into: &coder) }
            }
        case .not(let filter):
            coder.appendConstructedNode(identifier: ASN1Identifier(tagWithNumber: 2, tagClass: .contextSpecific)) { coder in
                filter.serialize(into: &coder)
            }
        case .equality(let attribute, let value):
            coder.appendConstructedNode(identifier: .ldapEqualityMatch) { coder in
                coder.appendOctets(attribute.utf8, identifier: .octetString)
                coder.appendOctets(value, identifier: .octetString)
            }
        case .present(let attribute):
            coder.appendOctets(attribute.utf8, identifier: ASN1Identifier(tagWithNumber: 7, tagClass: .contextSpecific))
        }
    }

    private struct Parser {
        var bytes: [UInt8]
        var position = 0
        var atEnd: Bool { position == bytes.count }

        mutating func expect(_ byte: UInt8) throws(ParseError) {
            guard position < bytes.count, bytes[position] == byte else {
                throw ParseError(message: "expected \"\(Character(Unicode.Scalar(byte)))\" at offset \(position)")
            }
            position += 1
        }

        mutating func filter() throws(ParseError) -> LDAPFilter {
            try expect(UInt8(ascii: "("))
            guard position < bytes.count else { throw ParseError(message: "the filter ends early") }
            let result: LDAPFilter
            switch bytes[position] {
            case UInt8(ascii: "&"), UInt8(ascii: "|"):
                let isAnd = bytes[position] == UInt8(ascii: "&")
                position += 1
                var filters: [LDAPFilter] = []
                while position < bytes.count, bytes[position] == UInt8(ascii: "(") { filters.append(try filter()) }
                guard !filters.isEmpty else { throw ParseError(message: "an empty \(isAnd ? "&" : "|") at offset \(position)") }
                result = isAnd ? .and(filters) : .or(filters)
            case UInt8(ascii: "!"):
                position += 1
                result = .not(try filter())
            default:
                result = try item()
            }
            try expect(UInt8(ascii: ")"))
            return result
        }

        /// `attr=value` or `attr=*`; other match types (`~=`, `>=`, substrings, extensible) are refused.
        mutating func item() throws(ParseError) -> LDAPFilter {
            let start = position
            while position < bytes.count, Self.isAttributeByte(bytes[position]) { position += 1 }
            let attribute = String(decoding: bytes[start..<position], as: UTF8.self)
            guard !attribute.isEmpty else { throw ParseError(message: "expected an attribute name at offset \(start)") }
            try expect(UInt8(ascii: "="))
            var value: [UInt8] = []
            var sawStar = false
            while position < bytes.count, bytes[position] != UInt8(ascii: ")") {
                let byte = bytes[position]
                if byte == UInt8(ascii: "(") { throw ParseError(message: "an unescaped \"(\" at offset \(position)") }
                if byte == UInt8(ascii: "*") {
                    sawStar = true
                    position += 1
                } else if byte == UInt8(ascii: "\\") {
                    guard position + 2 < bytes.count, let high = Self.hex(bytes[position + 1]), let low = Self.hex(bytes[position + 2])
                    else { throw ParseError(message: "a bad \\XX escape at offset \(position)") }
                    value.append(high << 4 | low)
                    position += 3
                } else {
                    value.append(byte)
                    position += 1
                }
            }
            if sawStar {
                guard value.isEmpty else { throw ParseError(message: "substring filters are not supported (\(attribute))") }
                return .present(attribute: attribute)
            }
            return .equality(attribute: attribute, value: value)
        }

        static func isAttributeByte(_ byte: UInt8) -> Bool {
            (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")) || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
                || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) || byte == UInt8(ascii: "-") || byte == UInt8(ascii: ".")
                || byte == UInt8(ascii: ";")
        }

        static func hex(_ byte: UInt8) -> UInt8? {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
            default: nil
            }
        }
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        String(repeating: "0", count: Swift.max(0, width - count)) + self
    }
}
