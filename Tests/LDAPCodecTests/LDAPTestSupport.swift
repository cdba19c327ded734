@testable import LDAPCodec

/// Hex to bytes; spaces are ignored so vectors can be grouped for reading.
func hex(_ string: String) -> [UInt8] {
    let digits = string.filter { !$0.isWhitespace }
    precondition(digits.count % 2 == 0, "odd hex string")
    var out: [UInt8] = []
    out.reserveCapacity(digits.count / 2)
    var index = digits.startIndex
    while index < digits.endIndex {
        let next = digits.index(index, offsetBy: 2)
        out.append(UInt8(digits[index..<next], radix: 16)!)
        index = next
    }
    return out
}

func hexString(_ bytes: some Sequence<UInt8>) -> String {
    bytes.map { ($0 < 0x10 ? "0" : "") + String($0, radix: 16) }.joined()
}

/// One TLV with a DER length, for building test inputs.
func tlv(_ tag: UInt8, _ content: [UInt8]) -> [UInt8] {
    var out: [UInt8] = [tag]
    if content.count < 0x80 {
        out.append(UInt8(content.count))
    } else {
        var length = content.count
        var octets: [UInt8] = []
        while length > 0 {
            octets.insert(UInt8(length & 0xFF), at: 0)
            length >>= 8
        }
        out.append(0x80 | UInt8(octets.count))
        out += octets
    }
    return out + content
}

/// Vectors from shared/vectors.md (LDAP section) and hand-assembled RFC 4511 messages.
enum Vectors {
    // 30 1a                 LDAPMessage
    //   02 01 01            messageID 1
    //   60 15               BindRequest [APPLICATION 0]
    //     02 01 03          version 3
    //     04 08 cn=admin    name
    //     80 06 secret      simple [0]
    static let simpleBind = hex("301a 020101 6015 020103 0408 636e3d61646d696e 8006 736563726574")

    // 30 0c 02 01 01 61 07  BindResponse [APPLICATION 1], messageID 1
    //   0a 01 00            resultCode success
    //   04 00 04 00         matchedDN "", diagnosticMessage ""
    static let bindSuccess = hex("300c 020101 6107 0a0100 0400 0400")
    // The same with resultCode invalidCredentials (49 = 0x31).
    static let bindInvalidCredentials = hex("300c 020101 6107 0a0131 0400 0400")

    // 30 05 02 01 02 42 00  UnbindRequest [APPLICATION 2] NULL, messageID 2
    static let unbind = hex("3005 020102 4200")

    // 30 1d 02 01 01        messageID 1
    //   77 18               ExtendedRequest [APPLICATION 23]
    //     80 16 1.3.6.1.4.1.1466.20037   requestName [0]
    static let startTLS = hex("301d 020101 7718 8016 312e332e362e312e342e312e313436362e3230303337")

    // 30 27 02 01 00        messageID 0
    //   78 22               ExtendedResponse [APPLICATION 24]
    //     0a 01 02          protocolError
    //     04 00             matchedDN ""
    //     04 03 bye         diagnosticMessage
    //     8a 16 1.3.6.1.4.1.1466.20036   responseName [10]
    static let noticeOfDisconnection = hex(
        "3027 020100 7822 0a0102 0400 0403 627965 8a16 312e332e362e312e342e312e313436362e3230303336"
    )

    // 30 16 02 01 02        messageID 2
    //   60 11               BindRequest
    //     02 01 03 04 00    version 3, name ""
    //     a3 0a             sasl [3] SaslCredentials
    //       04 08 EXTERNAL  mechanism, no credentials
    static let saslExternal = hex("3016 020102 6011 020103 0400 a30a 0408 45585445524e414c")

    // 30 1e 02 01 03        messageID 3
    //   60 19 02 01 03 04 00
    //     a3 12             sasl [3]
    //       04 05 PLAIN     mechanism
    //       04 09 00 jdoe 00 pw!  credentials (RFC 4616 message)
    static let saslPlain = hex("301e 020103 6019 020103 0400 a312 0405 504c41494e 0409 006a646f6500707721")

    // 30 5c 02 01 03        messageID 3
    //   63 81 31            SearchRequest [APPLICATION 3], length in non-minimal long form (kept verbatim)
    //     04 11 dc=example,dc=com        baseObject
    //     0a 01 02 0a 01 00              wholeSubtree, neverDerefAliases
    //     02 01 00 02 01 00 01 01 00     sizeLimit 0, timeLimit 0, typesOnly FALSE
    //     a3 0b 04 03 uid 04 04 jdoe     equalityMatch [3]
    //     30 00                          attributes: none listed (all user attributes)
    //   a0 23                 controls [0]
    //     30 21 04 16 1.2.840.113556.1.4.319      paged results control (RFC 2696)
    //           04 07 30 05 02 01 0a 04 00        size 10, cookie ""
    static let searchWithControls = hex(
        """
        305c 020103
        638131 0411 64633d6578616d706c652c64633d636f6d 0a0102 0a0100 020100 020100 010100
               a30b 0403 756964 0404 6a646f65 3000
        a023 3021 0416 312e322e3834302e3131333535362e312e342e333139 0407 3005 02010a 0400
        """
    )

    static let valid: [(String, [UInt8])] = [
        ("simpleBind", simpleBind), ("bindSuccess", bindSuccess), ("bindInvalidCredentials", bindInvalidCredentials),
        ("unbind", unbind), ("startTLS", startTLS), ("noticeOfDisconnection", noticeOfDisconnection),
        ("saslExternal", saslExternal), ("saslPlain", saslPlain), ("searchWithControls", searchWithControls),
    ]
}
