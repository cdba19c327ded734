/// The value of a Vendor-Specific attribute (type 26) in the layout RFC 2865 §5.26 recommends:
/// a 4-octet Vendor-Id, then sub-attributes of Vendor-Type (1 octet), Vendor-Length (1 octet, counting
/// both), and value. Vendors with other layouts (2- or 4-octet types) need their own decoder.
public struct RADIUSVendorSpecific: Hashable, Sendable {
    /// One vendor sub-attribute.
    public struct SubAttribute: Hashable, Sendable {
        public var type: UInt8
        public var value: [UInt8]

        public init(type: UInt8, value: [UInt8]) {
            self.type = type
            self.value = value
        }
    }

    /// The SMI Network Management Private Enterprise Code of the vendor (RFC 2865 §5.26).
    public var vendorID: UInt32
    public var subAttributes: [SubAttribute]

    public init(vendorID: UInt32, subAttributes: [SubAttribute]) {
        self.vendorID = vendorID
        self.subAttributes = subAttributes
    }

    public init(decoding attribute: RADIUSAttribute) throws(RADIUSDecodingError) {
        guard attribute.type == .vendorSpecific else {
            throw RADIUSDecodingError(
                code: .invalidVendorSpecific,
                message: "attribute type \(attribute.type.rawValue) is not Vendor-Specific (26)"
            )
        }
        let value = attribute.value
        guard value.count >= 4 else {
            throw RADIUSDecodingError(
                code: .invalidVendorSpecific,
                message: "Vendor-Specific value of \(value.count) octets has no 4-octet Vendor-Id",
                offset: 0
            )
        }
        // RFC 2865 §5.26: the high-order octet of Vendor-Id is 0; not enforced, as some NASes get it wrong.
        self.vendorID = UInt32(value[0]) << 24 | UInt32(value[1]) << 16 | UInt32(value[2]) << 8 | UInt32(value[3])
        var subAttributes: [SubAttribute] = []
        var offset = 4
        while offset < value.count {
            guard value.count - offset >= 2 else {
                throw RADIUSDecodingError(
                    code: .invalidVendorSpecific,
                    message: "vendor sub-attribute header truncated",
                    offset: offset
                )
            }
            let length = Int(value[offset + 1])
            // A length below 2 would not advance the cursor (0) or not cover its own header (1).
            guard length >= 2 else {
                throw RADIUSDecodingError(
                    code: .invalidVendorSpecific,
                    message: "vendor sub-attribute length \(length) is below 2",
                    offset: offset
                )
            }
            guard length <= value.count - offset else {
                throw RADIUSDecodingError(
                    code: .invalidVendorSpecific,
                    message: "vendor sub-attribute of length \(length) runs past the attribute",
                    offset: offset
                )
            }
            subAttributes.append(SubAttribute(type: value[offset], value: Array(value[(offset + 2)..<(offset + length)])))
            offset += length
        }
        self.subAttributes = subAttributes
    }

    /// The Vendor-Specific attribute carrying this value.
    public var attribute: RADIUSAttribute {
        var value: [UInt8] = []
        value.reserveCapacity(4 + subAttributes.reduce(0) { $0 + 2 + $1.value.count })
        value.append(UInt8(truncatingIfNeeded: vendorID >> 24))
        value.append(UInt8(truncatingIfNeeded: vendorID >> 16))
        value.append(UInt8(truncatingIfNeeded: vendorID >> 8))
        value.append(UInt8(truncatingIfNeeded: vendorID))
        for sub in subAttributes {
            precondition(sub.value.count <= 253, "vendor sub-attribute value longer than 253 octets")
            value.append(sub.type)
            value.append(UInt8(sub.value.count + 2))
            value.append(contentsOf: sub.value)
        }
        precondition(value.count <= RADIUSAttribute.maximumValueLength, "Vendor-Specific value longer than 253 octets")
        return RADIUSAttribute(type: .vendorSpecific, value: value)
    }
}
