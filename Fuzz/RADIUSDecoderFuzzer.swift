// libFuzzer entry point for the RADIUS decoder: packet framing and attributes, Vendor-Specific values,
// the Message-Authenticator and authenticator checks on the raw octets, and User-Password revealing.
// Built and run by Scripts/fuzz; a crash, a failed check below or a hang is a finding.
import RADIUSCodec

private let secret = Array("testing123".utf8)  // the corpus packets are signed with it
private let requestAuthenticator: [UInt8] = Array(0..<16)

/// A broken invariant: abort so libFuzzer records the input (a Swift trap, not an assert compiled out).
private func check(_ condition: Bool, _ message: @autoclosure () -> String) {
    if !condition {
        fatalError("RADIUSDecoderFuzzer: \(message())")
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    // The fuzzer's own buffer, exactly `size` octets: AddressSanitizer sees any read past it.
    let raw = UnsafeBufferPointer(start: data, count: size)

    // The checks on the raw bytes never trap, whatever the framing.
    let ma = RADIUSAuthenticators.checkMessageAuthenticator(raw: raw, secret: secret)
    let replyMA = RADIUSAuthenticators.checkReplyMessageAuthenticator(
        raw: raw, requestAuthenticator: requestAuthenticator, secret: secret)
    let accountingMA = RADIUSAuthenticators.checkAccountingRequestMessageAuthenticator(raw: raw, secret: secret)
    _ = RADIUSAuthenticators.verifyResponseAuthenticator(raw: raw, requestAuthenticator: requestAuthenticator, secret: secret)
    _ = RADIUSAuthenticators.verifyAccountingRequestAuthenticator(raw: raw, secret: secret)

    let packet: RADIUSPacket
    do {
        packet = try RADIUSPacket(decoding: raw)
    } catch {
        check(!error.message.isEmpty, "decoding error without a message")
        // What the decoder refuses, the Message-Authenticator checks refuse too.
        check(ma == .invalid && replyMA == .invalid && accountingMA == .invalid, "malformed packet not .invalid: \(error)")
        return 0
    }

    let length = Int(raw[2]) << 8 | Int(raw[3])
    let messageAuthenticators = packet.attributes(.messageAuthenticator)
    if messageAuthenticators.isEmpty {
        check(ma == .absent && replyMA == .absent && accountingMA == .absent, "no Message-Authenticator, yet not .absent")
    } else if messageAuthenticators.count > 1 || messageAuthenticators[0].value.count != 16 {
        check(ma == .invalid && replyMA == .invalid && accountingMA == .invalid, "bad Message-Authenticator not .invalid")
    }

    // Re-encoding gives the first Length octets (the rest is padding), which decode to the same packet.
    let encoded = packet.encoded()
    check(encoded.count == length, "re-encoded to \(encoded.count) octets, Length was \(length)")
    check(encoded.elementsEqual(raw[0..<length]), "re-encoding differs from the received octets")
    do {
        let again = try RADIUSPacket(decoding: encoded)
        check(again == packet, "re-encoded packet decodes to another value")
    } catch {
        check(false, "re-encoded packet does not decode: \(error)")
    }

    // Vendor-Specific values: decode, and re-encode to the same attribute.
    for attribute in packet.attributes(.vendorSpecific) {
        if let vsa = try? RADIUSVendorSpecific(decoding: attribute) {
            check(vsa.attribute == attribute, "Vendor-Specific re-encodes differently")
        }
    }

    // User-Password: reveal; what is revealed hides and reveals back to itself.
    if let hidden = packet.attribute(.userPassword) {
        if let password = try? RADIUSUserPassword.reveal(
            hidden.value, secret: secret, requestAuthenticator: packet.authenticator)
        {
            check(password.count <= RADIUSUserPassword.maximumPasswordLength, "revealed password too long")
            check(password.last != 0, "revealed password keeps its NUL padding")
            let rehidden = RADIUSUserPassword.hide(password, secret: secret, requestAuthenticator: packet.authenticator)
            let back = try? RADIUSUserPassword.reveal(rehidden, secret: secret, requestAuthenticator: packet.authenticator)
            check(back == password, "hide then reveal changes the password")
        }
    }

    // Signing what was decoded gives a packet every check accepts.
    if messageAuthenticators.isEmpty, length + 18 <= RADIUSPacket.maximumLength {
        let signed = RADIUSPacket.encodeRequest(
            code: packet.code, identifier: packet.identifier, authenticator: packet.authenticator,
            attributes: packet.attributes, secret: secret)
        check(RADIUSAuthenticators.checkMessageAuthenticator(raw: signed, secret: secret) == .valid, "signed request not .valid")
        let reply = RADIUSPacket.encodeReply(
            code: packet.code, identifier: packet.identifier, attributes: packet.attributes,
            requestAuthenticator: requestAuthenticator, secret: secret)
        check(
            RADIUSAuthenticators.verifyResponseAuthenticator(raw: reply, requestAuthenticator: requestAuthenticator, secret: secret),
            "signed reply's Response Authenticator does not verify")
        check(
            RADIUSAuthenticators.checkReplyMessageAuthenticator(raw: reply, requestAuthenticator: requestAuthenticator, secret: secret)
                == .valid,
            "signed reply's Message-Authenticator not .valid")
    }
    return 0
}
