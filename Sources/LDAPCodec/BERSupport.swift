import SwiftASN1

// The tags of RFC 4511 Appendix B (IMPLICIT TAGS) that this codec reads or writes.
extension ASN1Identifier {
    static let ldapBindRequest = ASN1Identifier(tagWithNumber: 0, tagClass: .application)
    static let ldapBindResponse = ASN1Identifier(tagWithNumber: 1, tagClass: .application)
    static let ldapUnbindRequest = ASN1Identifier(tagWithNumber: 2, tagClass: .application)
    static let ldapSearchRequest = ASN1Identifier(tagWithNumber: 3, tagClass: .application)
    static let ldapSearchResultEntry = ASN1Identifier(tagWithNumber: 4, tagClass: .application)
    static let ldapSearchResultDone = ASN1Identifier(tagWithNumber: 5, tagClass: .application)
    static let ldapExtendedRequest = ASN1Identifier(tagWithNumber: 23, tagClass: .application)
    static let ldapExtendedResponse = ASN1Identifier(tagWithNumber: 24, tagClass: .application)

    /// LDAPMessage controls [0].
    static let ldapControls = ASN1Identifier(tagWithNumber: 0, tagClass: .contextSpecific)
    /// AuthenticationChoice simple [0].
    static let ldapSimpleAuth = ASN1Identifier(tagWithNumber: 0, tagClass: .contextSpecific)
    /// AuthenticationChoice sasl [3].
    static let ldapSASLAuth = ASN1Identifier(tagWithNumber: 3, tagClass: .contextSpecific)
    /// LDAPResult referral [3].
    static let ldapReferral = ASN1Identifier(tagWithNumber: 3, tagClass: .contextSpecific)
    /// BindResponse serverSaslCreds [7].
    static let ldapServerSaslCreds = ASN1Identifier(tagWithNumber: 7, tagClass: .contextSpecific)
    /// ExtendedRequest requestName [0], requestValue [1].
    static let ldapRequestName = ASN1Identifier(tagWithNumber: 0, tagClass: .contextSpecific)
    static let ldapRequestValue = ASN1Identifier(tagWithNumber: 1, tagClass: .contextSpecific)
    /// ExtendedResponse responseName [10], responseValue [11].
    static let ldapResponseName = ASN1Identifier(tagWithNumber: 10, tagClass: .contextSpecific)
    static let ldapResponseValue = ASN1Identifier(tagWithNumber: 11, tagClass: .contextSpecific)
    /// Filter equalityMatch [3] AttributeValueAssertion.
    static let ldapEqualityMatch = ASN1Identifier(tagWithNumber: 3, tagClass: .contextSpecific)
}

/// Walks the children of one constructed node, with typed errors (swift-asn1's builders throw `any Error`).
struct BERReader {
    private var iterator: ASN1NodeCollection.Iterator
    private let context: String

    /// The node must carry `identifier` and be constructed.
    init(_ node: ASN1Node, _ identifier: ASN1Identifier, _ context: String) throws(LDAPDecodingError) {
        guard node.identifier == identifier else {
            throw BERDecode.unexpected(node, "\(context): expected \(identifier)")
        }
        guard case .constructed(let children) = node.content else {
            throw BERDecode.unexpected(node, "\(context) must be constructed")
        }
        self.iterator = children.makeIterator()
        self.context = context
    }

    /// The next element, which must be present.
    mutating func next(_ what: String) throws(LDAPDecodingError) -> ASN1Node {
        guard let node = iterator.next() else {
            throw LDAPDecodingError(code: .unexpectedTag, message: "\(context): \(what) is missing")
        }
        return node
    }

    /// The next element if it carries `identifier` (an OPTIONAL component); otherwise consumes nothing.
    mutating func nextIfPresent(_ identifier: ASN1Identifier) -> ASN1Node? {
        var copy = iterator
        guard let node = copy.next(), node.identifier == identifier else {
            return nil
        }
        iterator = copy
        return node
    }

    /// No element may follow.
    mutating func finish() throws(LDAPDecodingError) {
        if let extra = iterator.next() {
            throw BERDecode.unexpected(extra, "\(context): unexpected trailing element")
        }
    }
}

enum BERDecode {
    static func unexpected(_ node: ASN1Node, _ message: String) -> LDAPDecodingError {
        LDAPDecodingError(code: .unexpectedTag, message: "\(message) (found \(node.identifier))")
    }

    /// `BER.parse` of exactly one complete element, then RFC 4511 §5.1's "only the definite form of length".
    static func parse(_ bytes: ArraySlice<UInt8>) throws(LDAPDecodingError) -> ASN1Node {
        let node: ASN1Node
        do {
            node = try BER.parse(bytes)
        } catch {
            throw LDAPDecodingError(code: .malformedBER, message: "\(error)")
        }
        try rejectIndefiniteLengths(node)
        return node
    }

    /// Recursion is bounded by swift-asn1's parser depth limit (50 levels).
    private static func rejectIndefiniteLengths(_ node: ASN1Node) throws(LDAPDecodingError) {
        guard case .constructed(let children) = node.content else {
            return  // swift-asn1 only accepts the indefinite form on constructed nodes.
        }
        if usesIndefiniteLength(node.encodedBytes) {
            throw LDAPDecodingError(
                code: .indefiniteLength,
                message: "\(node.identifier) uses the indefinite length form (RFC 4511 §5.1)"
            )
        }
        for child in children {
            try rejectIndefiniteLengths(child)
        }
    }

    /// Whether the first length octet after the identifier octets is 0x80.
    static func usesIndefiniteLength(_ encoded: ArraySlice<UInt8>) -> Bool {
        var index = encoded.startIndex
        guard index < encoded.endIndex else { return false }
        let first = encoded[index]
        index += 1
        if first & 0x1F == 0x1F {
            // High tag number form: continuation octets have the top bit set; the last one does not.
            while index < encoded.endIndex, encoded[index] & 0x80 != 0 {
                index += 1
            }
            index += 1
        }
        return index < encoded.endIndex && encoded[index] == 0x80
    }

    /// The content of a primitive node: RFC 4511 §5.1 "OCTET STRING values are encoded in the primitive form only".
    static func primitive(_ node: ASN1Node, _ identifier: ASN1Identifier, _ what: String) throws(LDAPDecodingError) -> ArraySlice<UInt8> {
        guard node.identifier == identifier else {
            throw unexpected(node, "\(what): expected \(identifier)")
        }
        guard case .primitive(let content) = node.content else {
            throw unexpected(node, "\(what) must be primitive (RFC 4511 §5.1)")
        }
        return content
    }

    static func octets(_ node: ASN1Node, _ identifier: ASN1Identifier, _ what: String) throws(LDAPDecodingError) -> [UInt8] {
        Array(try primitive(node, identifier, what))
    }

    /// LDAPString / LDAPDN / LDAPOID: an OCTET STRING holding UTF-8 (RFC 4511 §4.1.2). Invalid UTF-8 is refused
    /// rather than repaired, so two different byte strings can never decode to the same name.
    static func string(_ node: ASN1Node, _ identifier: ASN1Identifier, _ what: String) throws(LDAPDecodingError) -> String {
        let content = try primitive(node, identifier, what)
        guard let string = String(validating: content, as: UTF8.self) else {
            throw LDAPDecodingError(code: .invalidUTF8, message: "\(what) is not valid UTF-8")
        }
        return string
    }

    /// INTEGER or ENUMERATED, minimally encoded (X.690 §8.3.2 holds for BER too), fitting in `T`.
    static func integer<T: ASN1IntegerRepresentable>(
        _ node: ASN1Node,
        _ identifier: ASN1Identifier,
        as: T.Type
    ) throws(LDAPDecodingError) -> T {
        guard node.identifier == identifier else {
            throw unexpected(node, "expected \(identifier)")
        }
        do {
            return try T(derEncoded: node, withIdentifier: identifier)
        } catch {
            throw LDAPDecodingError(code: .malformedBER, message: "\(identifier): \(error)")
        }
    }
}

extension DER.Serializer {
    /// A minimal two's-complement INTEGER or ENUMERATED.
    mutating func appendInteger(_ value: Int, identifier: ASN1Identifier) {
        appendPrimitiveNode(identifier: identifier) { bytes in
            let bigEndian = withUnsafeBytes(of: value.bigEndian) { Array($0) }
            var start = 0
            while start < bigEndian.count - 1 {
                let (octet, next) = (bigEndian[start], bigEndian[start + 1])
                guard (octet == 0x00 && next & 0x80 == 0) || (octet == 0xFF && next & 0x80 != 0) else { break }
                start += 1
            }
            bytes.append(contentsOf: bigEndian[start...])
        }
    }

    /// A primitive OCTET STRING (or an implicitly tagged one).
    mutating func appendOctets(_ octets: some Sequence<UInt8>, identifier: ASN1Identifier) {
        appendPrimitiveNode(identifier: identifier) { bytes in
            bytes.append(contentsOf: octets)
        }
    }
}
