/// The Code octet of a RADIUS packet (RFC 2865 §3, RFC 5176 §3, RFC 5997).
public struct RADIUSCode: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt8

    public init(rawValue: UInt8) {
        self.rawValue = rawValue
    }

    // RFC 2865 §3
    public static let accessRequest = RADIUSCode(rawValue: 1)
    public static let accessAccept = RADIUSCode(rawValue: 2)
    public static let accessReject = RADIUSCode(rawValue: 3)
    // RFC 2866 §3
    public static let accountingRequest = RADIUSCode(rawValue: 4)
    public static let accountingResponse = RADIUSCode(rawValue: 5)
    // RFC 2865 §3
    public static let accessChallenge = RADIUSCode(rawValue: 11)
    // RFC 5997 §3 (Status-Server); Status-Client is reserved
    public static let statusServer = RADIUSCode(rawValue: 12)
    public static let statusClient = RADIUSCode(rawValue: 13)
    // RFC 5176 §3
    public static let disconnectRequest = RADIUSCode(rawValue: 40)
    public static let disconnectACK = RADIUSCode(rawValue: 41)
    public static let disconnectNAK = RADIUSCode(rawValue: 42)
    public static let coaRequest = RADIUSCode(rawValue: 43)
    public static let coaACK = RADIUSCode(rawValue: 44)
    public static let coaNAK = RADIUSCode(rawValue: 45)

    public var description: String {
        switch rawValue {
        case 1: "Access-Request"
        case 2: "Access-Accept"
        case 3: "Access-Reject"
        case 4: "Accounting-Request"
        case 5: "Accounting-Response"
        case 11: "Access-Challenge"
        case 12: "Status-Server"
        case 13: "Status-Client"
        case 40: "Disconnect-Request"
        case 41: "Disconnect-ACK"
        case 42: "Disconnect-NAK"
        case 43: "CoA-Request"
        case 44: "CoA-ACK"
        case 45: "CoA-NAK"
        default: "Code-\(rawValue)"
        }
    }
}
