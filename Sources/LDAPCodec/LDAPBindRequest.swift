import SwiftASN1

/// RFC 4511 §4.2 BindRequest ::= [APPLICATION 0] SEQUENCE { version, name, authentication }.
public struct LDAPBindRequest: Sendable, Equatable {
    /// INTEGER (1 .. 127); decoding refuses other values. The proxy answers version != 3 with protocolError.
    public var version: Int
    /// LDAPDN, UTF-8.
    public var name: String
    public var authentication: Authentication

    /// AuthenticationChoice; other (extension) choices decode as ``LDAPDecodingError/Code/unsupportedAuthentication``.
    public enum Authentication: Sendable, Equatable {
        /// simple [0] OCTET STRING.
        case simple(password: [UInt8])
        /// sasl [3] SaslCredentials ::= SEQUENCE { mechanism LDAPString, credentials OCTET STRING OPTIONAL }.
        case sasl(mechanism: String, credentials: [UInt8]?)
    }

    public init(version: Int = 3, name: String, authentication: Authentication) {
        self.version = version
        self.name = name
        self.authentication = authentication
    }
}

extension LDAPBindRequest {
    init(node: ASN1Node) throws(LDAPDecodingError) {
        var reader = try BERReader(node, .ldapBindRequest, "BindRequest")
        let version = try BERDecode.integer(reader.next("version"), .integer, as: Int.self)
        guard (1...127).contains(version) else {
            throw LDAPDecodingError(code: .invalidValue, message: "BindRequest version \(version) is outside 1...127")
        }
        self.version = version
        self.name = try BERDecode.string(reader.next("name"), .octetString, "name")
        let auth = try reader.next("authentication")
        switch auth.identifier {
        case .ldapSimpleAuth:
            self.authentication = .simple(password: try BERDecode.octets(auth, .ldapSimpleAuth, "simple"))
        case .ldapSASLAuth:
            var sasl = try BERReader(auth, .ldapSASLAuth, "SaslCredentials")
            let mechanism = try BERDecode.string(sasl.next("mechanism"), .octetString, "mechanism")
            var credentials: [UInt8]?
            if let node = sasl.nextIfPresent(.octetString) {
                credentials = try BERDecode.octets(node, .octetString, "credentials")
            }
            try sasl.finish()
            self.authentication = .sasl(mechanism: mechanism, credentials: credentials)
        default:
            throw LDAPDecodingError(
                code: .unsupportedAuthentication,
                message: "AuthenticationChoice \(auth.identifier) is neither simple [0] nor sasl [3]"
            )
        }
        try reader.finish()
    }

    func serialize(into coder: inout DER.Serializer) {
        coder.appendConstructedNode(identifier: .ldapBindRequest) { coder in
            coder.appendInteger(version, identifier: .integer)
            coder.appendOctets(name.utf8, identifier: .octetString)
            switch authentication {
            case .simple(let password):
                coder.appendOctets(password, identifier: .ldapSimpleAuth)
            case .sasl(let mechanism, let credentials):
                coder.appendConstructedNode(identifier: .ldapSASLAuth) { coder in
                    coder.appendOctets(mechanism.utf8, identifier: .octetString)
                    if let credentials {
                        coder.appendOctets(credentials, identifier: .octetString)
                    }
                }
            }
        }
    }
}
