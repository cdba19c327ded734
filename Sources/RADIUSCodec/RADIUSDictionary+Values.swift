#if canImport(Glibc)
    import Glibc
#endif

/// A value that does not fit its attribute (a reply rule's `Name = value`).
public struct RADIUSValueError: Error, Equatable, Sendable, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}

extension RADIUSDictionary {
    /// `Name = value` in FreeRADIUS's syntax (`Class = "OU=admins;"`, `Session-Timeout = 3600`,
    /// `Service-Type = Framed-User`) → the attribute as it goes on the wire, vendor-specific ones inside
    /// Vendor-Specific (26) in their vendor's format.
    public func encode(_ assignment: String) throws(RADIUSValueError) -> RADIUSAttribute {
        guard let equals = assignment.firstIndex(of: "=") else { throw RADIUSValueError(message: "expected Name = value") }
        let name = String(assignment[..<equals]).trimmingCharacters()
        let value = try Self.unquoted(String(assignment[assignment.index(after: equals)...]).trimmingCharacters())
        return try encode(name: name, value: value)
    }

    public func encode(name: String, value: String) throws(RADIUSValueError) -> RADIUSAttribute {
        guard let attribute = attribute(named: name) else { throw RADIUSValueError(message: "unknown attribute \(name)") }
        guard attribute.number.count == 1 else { throw RADIUSValueError(message: "\(name) is inside a TLV, not supported in replies") }
        let bytes = try encodeValue(value, of: attribute)
        guard let vendorID = attribute.vendor else {
            guard attribute.number[0] <= 255, attribute.number[0] != 26 else {
                throw RADIUSValueError(message: "\(name) is an extended attribute, not supported in replies")
            }
            guard bytes.count <= 253 else { throw RADIUSValueError(message: "the value of \(name) is longer than 253 octets") }
            return RADIUSAttribute(type: RADIUSAttributeType(rawValue: UInt8(attribute.number[0])), value: bytes)
        }
        let vendor = vendorsByID[vendorID] ?? Vendor(name: "\(vendorID)", id: vendorID)
        var value = Self.bigEndian(UInt64(vendorID), octets: 4)
        value += Self.bigEndian(UInt64(attribute.number[0]), octets: vendor.typeOctets)
        let header = vendor.typeOctets + vendor.lengthOctets + (vendor.continuation ? 1 : 0)
        if vendor.lengthOctets > 0 { value += Self.bigEndian(UInt64(header + bytes.count), octets: vendor.lengthOctets) }
        if vendor.continuation { value.append(0) }
        value += bytes
        guard value.count <= 253 else { throw RADIUSValueError(message: "the value of \(name) is too long for Vendor-Specific") }
        return RADIUSAttribute(type: .vendorSpecific, value: value)
    }

    /// Names and values as text, as radclient prints them; vendor-specific attributes are split into theirs. Nil
    /// for what this dictionary cannot read.
    public func decode(_ attribute: RADIUSAttribute) -> [(name: String, value: String)]? {
        guard attribute.type == .vendorSpecific else {
            guard let known = self.attribute(vendor: nil, number: [UInt32(attribute.type.rawValue)]) else { return nil }
            return decodeValue(attribute.value, of: known).map { [(known.name, $0)] }
        }
        guard let subAttributes = vendorSubAttributes(attribute) else { return nil }
        let vendorID = UInt32(Self.unsigned(attribute.value[0..<4]))
        var decoded: [(String, String)] = []
        for sub in subAttributes {
            guard let known = self.attribute(vendor: vendorID, number: [sub.type]), let text = decodeValue(sub.value, of: known)
            else { return nil }
            decoded.append((known.name, text))
        }
        return decoded
    }

    /// A vendor's sub-attributes (RFC 2865 §5.26) read in its format: each one's type, value, and the
    /// Vendor-Specific attribute that carries it alone (its octets as received). Nil when the vendor is not in
    /// this dictionary or the value does not parse.
    public func vendorSubAttributes(_ attribute: RADIUSAttribute) -> [(type: UInt32, value: [UInt8], alone: RADIUSAttribute)]? {
        let value = attribute.value
        guard attribute.type == .vendorSpecific, value.count >= 4, let vendor = vendorsByID[UInt32(Self.unsigned(value[0..<4]))]
        else { return nil }
        var subAttributes: [(UInt32, [UInt8], RADIUSAttribute)] = []
        var offset = 4
        let header = vendor.typeOctets + vendor.lengthOctets + (vendor.continuation ? 1 : 0)
        while offset < value.count {
            guard value.count - offset >= header else { return nil }
            let type = UInt32(Self.unsigned(value[offset..<offset + vendor.typeOctets]))
            let length =
                vendor.lengthOctets == 0
                ? value.count - offset : Int(Self.unsigned(value[(offset + vendor.typeOctets)..<(offset + vendor.typeOctets + vendor.lengthOctets)]))
            guard length >= header, offset + length <= value.count else { return nil }
            let alone = RADIUSAttribute(type: .vendorSpecific, value: Array(value[0..<4] + value[offset..<offset + length]))
            subAttributes.append((type, Array(value[(offset + header)..<(offset + length)]), alone))
            offset += length
        }
        return subAttributes
    }

    private func encodeValue(_ text: String, of attribute: Attribute) throws(RADIUSValueError) -> [UInt8] {
        let invalid = RADIUSValueError(message: "\"\(text)\" is not a valid \(attribute.type.rawValue) for \(attribute.name)")
        switch attribute.type {
        case .string:
            return Array(text.utf8)
        case .octets:
            guard text.lowercased().hasPrefix("0x") else { return Array(text.utf8) }
            let digits = Array(text.utf8.dropFirst(2))
            guard digits.count % 2 == 0 else { throw invalid }
            return try stride(from: 0, to: digits.count, by: 2).map { (index: Int) throws(RADIUSValueError) -> UInt8 in
                guard let byte = UInt8(String(decoding: digits[index..<index + 2], as: UTF8.self), radix: 16) else { throw invalid }
                return byte
            }
        case .ipaddr, .ipv6addr:
            let v6 = attribute.type == .ipv6addr
            var address = [UInt8](repeating: 0, count: v6 ? 16 : 4)
            guard inet_pton(v6 ? AF_INET6 : AF_INET, text, &address) == 1 else { throw invalid }
            return address
        case .byte, .short, .uint16, .integer, .uint32, .date, .integer64, .signed:
            let octets = Self.octets(of: attribute.type)
            if let named = value(named: text, of: attribute.name) { return Self.bigEndian(named, octets: octets) }
            if attribute.type == .signed, let signed = Int32(text) { return Self.bigEndian(UInt64(UInt32(bitPattern: signed)), octets: 4) }
            guard let number = Self.number(text), octets == 8 || number < UInt64(1) << (8 * octets) else { throw invalid }
            return Self.bigEndian(number, octets: octets)
        case .ipv6prefix, .ipv4prefix, .ether, .ifid, .abinary, .tlv, .vsa, .extended, .evs, .comboIP, .longExtended:
            throw RADIUSValueError(message: "\(attribute.name) is of type \(attribute.type.rawValue), not supported in replies")
        }
    }

    private func decodeValue(_ bytes: [UInt8], of attribute: Attribute) -> String? {
        switch attribute.type {
        case .string:
            return String(decoding: bytes, as: UTF8.self)
        case .ipaddr, .ipv6addr:
            guard bytes.count == (attribute.type == .ipv6addr ? 16 : 4) else { return nil }
            var text = [CChar](repeating: 0, count: 64)
            guard inet_ntop(attribute.type == .ipv6addr ? AF_INET6 : AF_INET, bytes, &text, socklen_t(text.count)) != nil else { return nil }
            return String(cString: text)
        case .byte, .short, .uint16, .integer, .uint32, .date, .integer64, .signed:
            guard bytes.count == Self.octets(of: attribute.type) else { return nil }
            let number = Self.unsigned(bytes[...])
            if attribute.type == .signed { return String(Int32(bitPattern: UInt32(number))) }
            return valueName(number, of: attribute.name) ?? String(number)
        default:
            return "0x" + bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
        }
    }

    static func octets(of type: DataType) -> Int {
        switch type {
        case .byte: 1
        case .short, .uint16: 2
        case .integer64: 8
        default: 4
        }
    }

    static func bigEndian(_ value: UInt64, octets: Int) -> [UInt8] {
        (0..<octets).reversed().map { UInt8(truncatingIfNeeded: value >> (8 * UInt64($0))) }
    }

    static func unsigned(_ bytes: ArraySlice<UInt8>) -> UInt64 {
        bytes.reduce(0) { $0 << 8 | UInt64($1) }
    }

    /// A double-quoted value with `\"` and `\\` escapes, or a bare word.
    static func unquoted(_ text: String) throws(RADIUSValueError) -> String {
        guard text.hasPrefix("\"") else { return text }
        guard text.count >= 2, text.hasSuffix("\"") else { throw RADIUSValueError(message: "unterminated string \(text)") }
        var out = ""
        var escaped = false
        for char in text.dropFirst().dropLast() {
            if escaped {
                out.append(char == "n" ? "\n" : char)
                escaped = false
            } else if char == "\\" {
                escaped = true
            } else {
                out.append(char)
            }
        }
        return out
    }
}

extension String {
    fileprivate func trimmingCharacters() -> String {
        var text = Substring(self)
        while let first = text.first, first == " " || first == "\t" { text = text.dropFirst() }
        while let last = text.last, last == " " || last == "\t" { text = text.dropLast() }
        return String(text)
    }
}
