import SwiftASN1

/// RFC 4511 §4.2 / §4.1.1: the messages the proxy understands; every other protocolOp is kept as raw bytes so it
/// can be passed through to the directory unchanged.
public enum LDAPProtocolOp: Sendable, Equatable {
    /// [APPLICATION 0]
    case bindRequest(LDAPBindRequest)
    /// [APPLICATION 1], serverSaslCreds [7].
    case bindResponse(LDAPResult, serverSaslCreds: [UInt8]?)
    /// [APPLICATION 2] NULL
    case unbindRequest
    /// [APPLICATION 23], requestName [0] LDAPOID, requestValue [1].
    case extendedRequest(name: String, value: [UInt8]?)
    /// [APPLICATION 24], responseName [10], responseValue [11].
    case extendedResponse(LDAPResult, name: String?, value: [UInt8]?)
    /// Any other op: its [APPLICATION tag] number and complete TLV bytes as received (re-emitted verbatim).
    case other(tag: UInt, bytes: [UInt8])
}

extension LDAPProtocolOp {
    init(node: ASN1Node) throws(LDAPDecodingError) {
        guard node.identifier.tagClass == .application else {
            throw BERDecode.unexpected(node, "protocolOp must carry an APPLICATION tag")
        }
        switch node.identifier.tagNumber {
        case 0:
            self = .bindRequest(try LDAPBindRequest(node: node))

        case 1:
            var reader = try BERReader(node, .ldapBindResponse, "BindResponse")
            let result = try LDAPResult(components: &reader)
            var creds: [UInt8]?
            if let node = reader.nextIfPresent(.ldapServerSaslCreds) {
                creds = try BERDecode.octets(node, .ldapServerSaslCreds, "serverSaslCreds")
            }
            try reader.finish()
            self = .bindResponse(result, serverSaslCreds: creds)

        case 2:
            let content = try BERDecode.primitive(node, .ldapUnbindRequest, "UnbindRequest")
            guard content.isEmpty else {
                throw LDAPDecodingError(code: .invalidValue, message: "UnbindRequest NULL has \(content.count) content octets")
            }
            self = .unbindRequest

        case 23:
            var reader = try BERReader(node, .ldapExtendedRequest, "ExtendedRequest")
            let name = try BERDecode.string(reader.next("requestName"), .ldapRequestName, "requestName")
            var value: [UInt8]?
            if let node = reader.nextIfPresent(.ldapRequestValue) {
                value = try BERDecode.octets(node, .ldapRequestValue, "requestValue")
            }
            try reader.finish()
            self = .extendedRequest(name: name, value: value)

        case 24:
            var reader = try BERReader(node, .ldapExtendedResponse, "ExtendedResponse")
            let result = try LDAPResult(components: &reader)
            var name: String?
            if let node = reader.nextIfPresent(.ldapResponseName) {
                name = try BERDecode.string(node, .ldapResponseName, "responseName")
            }
            var value: [UInt8]?
            if let node = reader.nextIfPresent(.ldapResponseValue) {
                value = try BERDecode.octets(node, .ldapResponseValue, "responseValue")
            }
            try reader.finish()
            self = .extendedResponse(result, name: name, value: value)

        default:
            self = .other(tag: node.identifier.tagNumber, bytes: Array(node.encodedBytes))
        }
    }

    func serialize(into coder: inout DER.Serializer) {
        switch self {
        case .bindRequest(let request):
            request.serialize(into: &coder)

        case .bindResponse(let result, let creds):
            coder.appendConstructedNode(identifier: .ldapBindResponse) { coder in
                result.serializeComponents(into: &coder)
                if let creds {
                    coder.appendOctets(creds, identifier: .ldapServerSaslCreds)
                }
            }

        case .unbindRequest:
            coder.appendPrimitiveNode(identifier: .ldapUnbindRequest) { _ in }

        case .extendedRequest(let name, let value):
            coder.appendConstructedNode(identifier: .ldapExtendedRequest) { coder in
                coder.appendOctets(name.utf8, identifier: .ldapRequestName)
                if let value {
                    coder.appendOctets(value, identifier: .ldapRequestValue)
                }
            }

        case .extendedResponse(let result, let name, let value):
            coder.appendConstructedNode(identifier: .ldapExtendedResponse) { coder in
                result.serializeComponents(into: &coder)
                if let name {
                    coder.appendOctets(name.utf8, identifier: .ldapResponseName)
                }
                if let value {
                    coder.appendOctets(value, identifier: .ldapResponseValue)
                }
            }

        case .other(_, let bytes):
            coder.serializeRawBytes(bytes)
        }
    }
}
