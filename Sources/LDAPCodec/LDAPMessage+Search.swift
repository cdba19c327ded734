import SwiftASN1

// The one directory search the proxy makes for RADIUS (Duo's ad_client style): find one entry's DN by an
// attribute value, then bind as it. Requests go out as `.other`; results come back as `.other`.
extension LDAPMessage {
    /// RFC 4511 §4.5.1 SearchRequest [APPLICATION 3] with an equality filter (attribute=value), scope wholeSubtree,
    /// derefAliases neverDerefAliases, sizeLimit 2 (so an ambiguous match is visible as sizeLimitExceeded or a
    /// second entry), typesOnly FALSE and attributes ["1.1"] (RFC 4511 §4.5.1.8: no attributes).
    ///
    /// The assertion value is an OCTET STRING in BER, so no RFC 4515 escaping is applied.
    /// `timeLimit` is in seconds, 0 for no limit.
    public static func searchForEntry(
        messageID: Int32,
        base: String,
        attribute: String,
        value: String,
        timeLimit: Int32 = 0
    ) -> LDAPMessage {
        search(
            messageID: messageID, base: base, scope: .wholeSubtree, filter: .equality(attribute: attribute, value: Array(value.utf8)),
            sizeLimit: 2, timeLimit: timeLimit, attributes: ["1.1"])
    }

    /// RFC 4511 §4.5.1.2.
    public enum SearchScope: Int, Sendable {
        case baseObject = 0
        case singleLevel = 1
        case wholeSubtree = 2
    }

    /// RFC 4511 §4.5.1 SearchRequest [APPLICATION 3], derefAliases neverDerefAliases, typesOnly FALSE.
    /// `sizeLimit` and `timeLimit` (seconds) are 0 for no limit.
    public static func search(
        messageID: Int32, base: String, scope: SearchScope, filter: LDAPFilter, sizeLimit: Int32 = 0, timeLimit: Int32 = 0,
        attributes: [String]
    ) -> LDAPMessage {
        precondition(timeLimit >= 0 && sizeLimit >= 0, "RFC 4511 §4.5.1.4, §4.5.1.5: INTEGER (0 .. maxInt)")
        var coder = DER.Serializer()
        coder.appendConstructedNode(identifier: .ldapSearchRequest) { coder in
            coder.appendOctets(base.utf8, identifier: .octetString)  // baseObject
            coder.appendInteger(scope.rawValue, identifier: .enumerated)
            coder.appendInteger(0, identifier: .enumerated)  // derefAliases neverDerefAliases
            coder.appendInteger(Int(sizeLimit), identifier: .integer)
            coder.appendInteger(Int(timeLimit), identifier: .integer)
            coder.appendPrimitiveNode(identifier: .boolean) { $0.append(0x00) }  // typesOnly FALSE
            filter.serialize(into: &coder)
            coder.appendConstructedNode(identifier: .sequence) { coder in
                for attribute in attributes { coder.appendOctets(attribute.utf8, identifier: .octetString) }
            }
        }
        return LDAPMessage(messageID: messageID, protocolOp: .other(tag: 3, bytes: coder.serializedBytes))
    }

    /// The objectName (DN) and attributes of a SearchResultEntry [APPLICATION 4] (RFC 4511 §4.5.2): each
    /// attribute's values as text, under its name in lower case. Nil when `op` is not one or is malformed.
    public static func searchResultEntry(_ op: LDAPProtocolOp) -> (dn: String, attributes: [String: [String]])? {
        guard case .other(tag: 4, let bytes) = op else { return nil }
        do throws(LDAPDecodingError) {
            var reader = try BERReader(BERDecode.parse(bytes[...]), .ldapSearchResultEntry, "SearchResultEntry")
            let dn = try BERDecode.string(reader.next("objectName"), .octetString, "objectName")
            var attributes = try BERReader(reader.next("attributes"), .sequence, "attributes")
            var values: [String: [String]] = [:]
            while let attribute = attributes.nextIfPresent(.sequence) {
                var partial = try BERReader(attribute, .sequence, "PartialAttribute")
                let type = try BERDecode.string(partial.next("type"), .octetString, "type").lowercased()
                var set = try BERReader(partial.next("vals"), .set, "vals")
                while let value = set.nextIfPresent(.octetString) {
                    values[type, default: []].append(try BERDecode.string(value, .octetString, "value"))
                }
                try set.finish()
                try partial.finish()
            }
            try attributes.finish()
            try reader.finish()
            return (dn, values)
        } catch {
            return nil
        }
    }

    /// The objectName (DN) of a SearchResultEntry [APPLICATION 4] (RFC 4511 §4.5.2), or nil when `op` is not one
    /// or is malformed.
    public static func searchResultEntryDN(_ op: LDAPProtocolOp) -> String? {
        guard case .other(tag: 4, let bytes) = op else { return nil }
        do throws(LDAPDecodingError) {
            var reader = try BERReader(BERDecode.parse(bytes[...]), .ldapSearchResultEntry, "SearchResultEntry")
            let dn = try BERDecode.string(reader.next("objectName"), .octetString, "objectName")
            let attributes = try reader.next("attributes")
            guard attributes.identifier == .sequence, case .constructed = attributes.content else { return nil }
            try reader.finish()
            return dn
        } catch {
            return nil
        }
    }

    /// The LDAPResult of a SearchResultDone [APPLICATION 5] (RFC 4511 §4.5.2), or nil when `op` is not one or is
    /// malformed.
    public static func searchResultDone(_ op: LDAPProtocolOp) -> LDAPResult? {
        guard case .other(tag: 5, let bytes) = op else { return nil }
        do throws(LDAPDecodingError) {
            var reader = try BERReader(BERDecode.parse(bytes[...]), .ldapSearchResultDone, "SearchResultDone")
            let result = try LDAPResult(components: &reader)
            try reader.finish()
            return result
        } catch {
            return nil
        }
    }
}
