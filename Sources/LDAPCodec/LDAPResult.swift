import SwiftASN1

/// RFC 4511 §4.1.9 LDAPResult; also the first components of BindResponse and ExtendedResponse.
public struct LDAPResult: Sendable, Equatable {
    public var resultCode: LDAPResultCode
    /// LDAPDN.
    public var matchedDN: String
    public var diagnosticMessage: String
    /// referral [3] Referral, its complete TLV bytes as received (rarely used; passed through).
    public var referral: [UInt8]?

    public init(resultCode: LDAPResultCode, matchedDN: String = "", diagnosticMessage: String = "", referral: [UInt8]? = nil) {
        self.resultCode = resultCode
        self.matchedDN = matchedDN
        self.diagnosticMessage = diagnosticMessage
        self.referral = referral
    }
}

extension LDAPResult {
    /// Reads the LDAPResult components from an enclosing SEQUENCE (COMPONENTS OF).
    init(components reader: inout BERReader) throws(LDAPDecodingError) {
        self.resultCode = LDAPResultCode(rawValue: try BERDecode.integer(reader.next("resultCode"), .enumerated, as: Int.self))
        self.matchedDN = try BERDecode.string(reader.next("matchedDN"), .octetString, "matchedDN")
        self.diagnosticMessage = try BERDecode.string(reader.next("diagnosticMessage"), .octetString, "diagnosticMessage")
        if let node = reader.nextIfPresent(.ldapReferral) {
            guard case .constructed = node.content else {
                throw BERDecode.unexpected(node, "referral [3] must be constructed")
            }
            self.referral = Array(node.encodedBytes)
        } else {
            self.referral = nil
        }
    }

    func serializeComponents(into coder: inout DER.Serializer) {
        coder.appendInteger(resultCode.rawValue, identifier: .enumerated)
        coder.appendOctets(matchedDN.utf8, identifier: .octetString)
        coder.appendOctets(diagnosticMessage.utf8, identifier: .octetString)
        if let referral {
            coder.serializeRawBytes(referral)
        }
    }
}
