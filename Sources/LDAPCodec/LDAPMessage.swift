import SwiftASN1

/// RFC 4511 §4.1.1 LDAPMessage ::= SEQUENCE { messageID MessageID, protocolOp CHOICE {...}, controls [0] Controls OPTIONAL }.
public struct LDAPMessage: Sendable, Equatable {
    /// MessageID ::= INTEGER (0 .. maxInt); decoding refuses negative values.
    public var messageID: Int32
    public var protocolOp: LDAPProtocolOp
    /// [0] Controls, its complete TLV bytes as received (passed through, re-emitted verbatim).
    public var controls: [UInt8]?

    public init(messageID: Int32, protocolOp: LDAPProtocolOp, controls: [UInt8]? = nil) {
        self.messageID = messageID
        self.protocolOp = protocolOp
        self.controls = controls
    }

    /// Decodes exactly one complete LDAPMessage (as cut by ``LDAPFrameSplitter``); trailing bytes are an error.
    ///
    /// Errors raised after the messageID was read carry it in ``LDAPDecodingError/messageID``.
    public init(decoding bytes: [UInt8]) throws(LDAPDecodingError) {
        let root = try BERDecode.parse(bytes[...])
        var reader = try BERReader(root, .sequence, "LDAPMessage")
        let messageID = try BERDecode.integer(reader.next("messageID"), .integer, as: Int32.self)
        guard messageID >= 0 else {
            throw LDAPDecodingError(code: .invalidValue, message: "messageID \(messageID) is negative")
        }
        do throws(LDAPDecodingError) {
            self.messageID = messageID
            self.protocolOp = try LDAPProtocolOp(node: reader.next("protocolOp"))
            if let node = reader.nextIfPresent(.ldapControls) {
                guard case .constructed = node.content else {
                    throw BERDecode.unexpected(node, "controls [0] must be constructed")
                }
                self.controls = Array(node.encodedBytes)
            } else {
                self.controls = nil
            }
            try reader.finish()
        } catch {
            throw error.with(messageID: messageID)
        }
    }

    /// BER with definite, minimal lengths (DER-style); `.other` ops and controls are re-emitted verbatim.
    public func encoded() -> [UInt8] {
        precondition(messageID >= 0, "RFC 4511 §4.1.1: MessageID ::= INTEGER (0 .. maxInt)")
        var coder = DER.Serializer()
        coder.appendConstructedNode(identifier: .sequence) { coder in
            coder.appendInteger(Int(messageID), identifier: .integer)
            protocolOp.serialize(into: &coder)
            if let controls {
                coder.serializeRawBytes(controls)
            }
        }
        return coder.serializedBytes
    }
}
