import CountersignConfig
import MFACore
import RADIUSCodec

/// `primary.pass_through`: the attributes of an upstream Access-Accept that go on Countersign's, named as in the
/// dictionary the gateway loads. A vendor's attributes are picked one by one out of their Vendor-Specific.
public struct PassThroughFilter: Sendable {
    private struct VendorAttribute: Hashable {
        var vendor: UInt32
        var type: UInt32
    }

    private let everything: Bool
    private let types: Set<UInt8>
    private let vendorAttributes: Set<VendorAttribute>
    private let dictionary: RADIUSDictionary

    /// Types never copied, whatever the selection (`PassThroughSelection.neverPassed`).
    static let neverPassed: Set<RADIUSAttributeType> = [.replyMessage, .state, .proxyState, .eapMessage, .messageAuthenticator]

    /// Checks every name against `dictionary`; an unknown one, or one that cannot be passed on, is an error that
    /// names it and its place in `primary.pass_through`.
    public init(_ selection: PassThroughSelection, dictionary: RADIUSDictionary) throws(ConfigurationError) {
        self.dictionary = dictionary
        guard case .named(let names) = selection else {
            everything = true
            types = []
            vendorAttributes = []
            return
        }
        everything = false
        var types: Set<UInt8> = []
        var vendorAttributes: Set<VendorAttribute> = []
        for (index, name) in names.enumerated() {
            let key = "primary.pass_through[\(index)]"
            guard let attribute = dictionary.attribute(named: name) else {
                throw ConfigurationError(code: .invalidValue, key: key, message: "unknown attribute \(name) (not in the RADIUS dictionary)")
            }
            guard attribute.number.count == 1 else {
                throw ConfigurationError(code: .invalidValue, key: key, message: "\(name) is inside a TLV, which is not passed through")
            }
            if let vendor = attribute.vendor {
                vendorAttributes.insert(VendorAttribute(vendor: vendor, type: attribute.number[0]))
                continue
            }
            // RFC 6929 §2.1: 241…246 hold extended attributes; 26 names none by itself.
            guard attribute.number[0] < 241, attribute.number[0] != 26 else {
                throw ConfigurationError(code: .invalidValue, key: key, message: "\(name) is not a plain RADIUS attribute, which is not passed through")
            }
            let type = RADIUSAttributeType(rawValue: UInt8(attribute.number[0]))
            guard !Self.neverPassed.contains(type) else {
                throw ConfigurationError(code: .invalidValue, key: key, message: "\(name) belongs to one exchange and is never passed through")
            }
            types.insert(type.rawValue)
        }
        self.types = types
        self.vendorAttributes = vendorAttributes
    }

    /// What of `attributes` (an upstream Access-Accept's, in order) goes on the final Accept.
    public func select(_ attributes: [RADIUSAttribute]) -> [ReplyAttribute] {
        attributes.flatMap { attribute -> [ReplyAttribute] in
            if Self.neverPassed.contains(attribute.type) { return [] }
            if everything { return [ReplyAttribute(attribute)] }
            guard attribute.type == .vendorSpecific else {
                return types.contains(attribute.type.rawValue) ? [ReplyAttribute(attribute)] : []
            }
            guard !vendorAttributes.isEmpty, let subAttributes = dictionary.vendorSubAttributes(attribute) else { return [] }
            let vendor = attribute.value.prefix(4).reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
            return subAttributes.filter { vendorAttributes.contains(VendorAttribute(vendor: vendor, type: $0.type)) }
                .map { ReplyAttribute($0.alone) }
        }
    }
}

extension ReplyAttribute {
    init(_ attribute: RADIUSAttribute) {
        self.init(type: attribute.type.rawValue, value: attribute.value)
    }
}
