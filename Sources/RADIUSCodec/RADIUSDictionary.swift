/// RADIUS attribute names, types, values and vendors from FreeRADIUS 3 dictionary files (`ATTRIBUTE`, `VALUE`,
/// `VENDOR` with its `format=`, `BEGIN-VENDOR`/`END-VENDOR`, `BEGIN-TLV`/`END-TLV`, `$INCLUDE`). Parsed from text:
/// the caller reads the files (`read`), so the codec does no I/O.
public struct RADIUSDictionary: Sendable {
    public enum DataType: String, Sendable, Equatable {
        case string, octets, ipaddr, ipv6addr, ipv6prefix, ipv4prefix, integer, date, byte, short, signed, integer64
        case ether, ifid, abinary, tlv, vsa, extended, evs, uint16, uint32
        case comboIP = "combo-ip"
        case longExtended = "long-extended"
    }

    /// RFC 2865 §5.26 leaves the layout inside Vendor-Specific to the vendor: octets of the type and length fields
    /// (`format=2,1` for 2-octet types), and WiMAX's continuation octet.
    public struct Vendor: Sendable, Equatable {
        public var name: String
        public var id: UInt32
        public var typeOctets = 1
        public var lengthOctets = 1
        public var continuation = false
    }

    public struct Attribute: Sendable, Equatable {
        public var name: String
        /// The type number; under a TLV, the path from the top attribute (`59.1`).
        public var number: [UInt32]
        /// The vendor's id for a vendor-specific attribute.
        public var vendor: UInt32?
        public var type: DataType
        /// `encrypt=2`, `has_tag`, `array`, …
        public var flags: [String]
    }

    private(set) var vendorsByName: [String: Vendor] = [:]
    private(set) var vendorsByID: [UInt32: Vendor] = [:]
    private var attributesByName: [String: Attribute] = [:]
    private var attributesByNumber: [AttributeKey: Attribute] = [:]
    /// Attribute name (lower case) → value name (lower case) → number, and back.
    private var valuesByName: [String: [String: UInt64]] = [:]
    private var valueNames: [String: [UInt64: String]] = [:]

    private struct AttributeKey: Hashable {
        var vendor: UInt32?
        var number: [UInt32]
    }

    public var attributeCount: Int { attributesByName.count }
    public var vendorCount: Int { vendorsByID.count }

    public init() {}

    /// Reads `file` and everything it includes. `read(path)` returns a file's text; `$INCLUDE` names are taken
    /// relative to the including file's folder.
    public static func load(file: String, read: (String) throws -> String) throws(RADIUSDictionaryError) -> RADIUSDictionary {
        var dictionary = RADIUSDictionary()
        try dictionary.include(file, read: read, depth: 0)
        return dictionary
    }

    /// Adds the definitions in `text` (named `file` in errors); `read` serves its `$INCLUDE`s.
    public mutating func parse(_ text: String, file: String, read: (String) throws -> String) throws(RADIUSDictionaryError) {
        try parse(text, file: file, read: read, depth: 0)
    }

    private mutating func parse(_ text: String, file: String, read: (String) throws -> String, depth: Int) throws(RADIUSDictionaryError) {
        var context = ParseContext(file: file, depth: depth)
        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            context.line = index + 1
            let line = rawLine.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" }).map(String.init)
            guard let keyword = fields.first else { continue }
            try parseLine(keyword, Array(fields.dropFirst()), &context, read: read)
        }
        if let vendor = context.vendor { throw context.error("BEGIN-VENDOR \(vendor.name) has no END-VENDOR") }
    }

    public func attribute(named name: String) -> Attribute? { attributesByName[name.lowercased()] }

    public func vendor(named name: String) -> Vendor? { vendorsByName[name.lowercased()] }

    /// The number of `value` (a `VALUE` name) for `attribute`.
    public func value(named value: String, of attribute: String) -> UInt64? { valuesByName[attribute.lowercased()]?[value.lowercased()] }

    public func valueName(_ number: UInt64, of attribute: String) -> String? { valueNames[attribute.lowercased()]?[number] }

    func attribute(vendor: UInt32?, number: [UInt32]) -> Attribute? { attributesByNumber[AttributeKey(vendor: vendor, number: number)] }

    // MARK: Parsing

    private struct ParseContext {
        var file: String
        /// How deep in `$INCLUDE`s: a file that includes itself stops here rather than recursing forever.
        var depth: Int
        var line = 0
        var vendor: Vendor?
        var tlvs: [Attribute] = []

        func error(_ message: String) -> RADIUSDictionaryError { RADIUSDictionaryError(file: file, line: line, message: message) }
    }

    private mutating func include(_ file: String, read: (String) throws -> String, depth: Int) throws(RADIUSDictionaryError) {
        guard depth < 32 else { throw RADIUSDictionaryError(file: file, line: 0, message: "$INCLUDE nested too deep (a loop?)") }
        let text: String
        do {
            text = try read(file)
        } catch {
            throw RADIUSDictionaryError(file: file, line: 0, message: "cannot read: \(error)")
        }
        try parse(text, file: file, read: read, depth: depth)
    }

    private mutating func parseLine(
        _ keyword: String, _ fields: [String], _ context: inout ParseContext, read: (String) throws -> String
    ) throws(RADIUSDictionaryError) {
        switch keyword {
        case "$INCLUDE", "$INCLUDE-":
            guard fields.count == 1 else { throw context.error("$INCLUDE takes one file name") }
            let folder = context.file.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
            let path = fields[0].hasPrefix("/") || folder.isEmpty ? fields[0] : folder + "/" + fields[0]
            do {
                try include(path, read: read, depth: context.depth + 1)
            } catch where keyword == "$INCLUDE-" && error.line == 0 && error.file == path {
                // `$INCLUDE-`: the file may be missing.
            }
        case "VENDOR":
            try defineVendor(fields, context)
        case "BEGIN-VENDOR":
            guard let name = fields.first, let vendor = vendorsByName[name.lowercased()] else {
                throw context.error("BEGIN-VENDOR names an unknown vendor")
            }
            context.vendor = vendor
        case "END-VENDOR":
            guard context.vendor != nil, fields.first?.lowercased() == context.vendor?.name.lowercased() else {
                throw context.error("END-VENDOR does not match BEGIN-VENDOR")
            }
            context.vendor = nil
        case "BEGIN-TLV":
            guard let name = fields.first, let parent = attributesByName[name.lowercased()], parent.type == .tlv else {
                throw context.error("BEGIN-TLV names no attribute of type tlv")
            }
            context.tlvs.append(parent)
        case "END-TLV":
            guard context.tlvs.popLast() != nil else { throw context.error("END-TLV without BEGIN-TLV") }
        case "ATTRIBUTE":
            try defineAttribute(fields, context)
        case "VALUE":
            guard fields.count == 3, let number = Self.number(fields[2]) else {
                throw context.error("VALUE takes an attribute, a name and a number")
            }
            valuesByName[fields[0].lowercased(), default: [:]][fields[1].lowercased()] = number
            if valueNames[fields[0].lowercased()]?[number] == nil { valueNames[fields[0].lowercased(), default: [:]][number] = fields[1] }
        case "FLAGS", "PROTOCOL":
            break  // FreeRADIUS 4 keywords; nothing for a reply here
        default:
            throw context.error("unknown keyword \(keyword)")
        }
    }

    private mutating func defineVendor(_ fields: [String], _ context: ParseContext) throws(RADIUSDictionaryError) {
        guard fields.count >= 2, let id = Self.number(fields[1]), id <= UInt32.max else {
            throw context.error("VENDOR takes a name and a number")
        }
        var vendor = Vendor(name: fields[0], id: UInt32(id))
        if fields.count >= 3 {
            let format = fields[2]
            guard format.hasPrefix("format=") else { throw context.error("unknown VENDOR option \(format)") }
            let parts = format.dropFirst("format=".count).split(separator: ",")
            guard parts.count >= 2, let type = Int(parts[0]), [1, 2, 4].contains(type), let length = Int(parts[1]),
                [0, 1, 2].contains(length), parts.count == 2 || parts[2] == "c"
            else { throw context.error("bad VENDOR format \(format)") }
            vendor.typeOctets = type
            vendor.lengthOctets = length
            vendor.continuation = parts.count == 3
        }
        vendorsByName[vendor.name.lowercased()] = vendor
        vendorsByID[vendor.id] = vendor
    }

    private mutating func defineAttribute(_ fields: [String], _ context: ParseContext) throws(RADIUSDictionaryError) {
        guard fields.count >= 3 else { throw context.error("ATTRIBUTE takes a name, a number and a type") }
        let path = fields[1].split(separator: ".").map { Self.number(String($0)) }
        guard !path.isEmpty, path.allSatisfy({ $0 != nil && $0! <= UInt32.max }) else {
            throw context.error("bad attribute number \(fields[1])")
        }
        var typeName = fields[2].lowercased()
        if typeName.hasPrefix("octets[") { typeName = "octets" }  // a fixed size; the type is the same
        guard let type = DataType(rawValue: typeName) else { throw context.error("unknown type \(fields[2])") }
        var vendor = context.vendor?.id
        var flags: [String] = []
        if fields.count >= 4 {
            // FreeRADIUS 1's form names the vendor here; otherwise these are flags.
            if let named = vendorsByName[fields[3].lowercased()] { vendor = named.id } else { flags = fields[3].split(separator: ",").map(String.init) }
        }
        let number = (context.tlvs.last?.number ?? []) + path.map { UInt32($0!) }
        let attribute = Attribute(name: fields[0], number: number, vendor: vendor, type: type, flags: flags)
        attributesByName[attribute.name.lowercased()] = attribute
        attributesByNumber[AttributeKey(vendor: vendor, number: number)] = attribute
    }

    /// Decimal, or hexadecimal with `0x`.
    static func number(_ text: String) -> UInt64? {
        text.lowercased().hasPrefix("0x") ? UInt64(text.dropFirst(2), radix: 16) : UInt64(text)
    }
}

/// A dictionary file that does not parse: where, and why.
public struct RADIUSDictionaryError: Error, Equatable, Sendable, CustomStringConvertible {
    public var file: String
    /// 1-based; 0 when the file itself could not be read.
    public var line: Int
    public var message: String

    public var description: String { line > 0 ? "\(file):\(line): \(message)" : "\(file): \(message)" }
}
