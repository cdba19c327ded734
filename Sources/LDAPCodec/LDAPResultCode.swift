/// RFC 4511 §4.1.9 resultCode (ENUMERATED, extensible: any value decodes).
public struct LDAPResultCode: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: Int

    public init(rawValue: Int) {
        self.rawValue = rawValue
    }

    public init(_ rawValue: Int) {
        self.rawValue = rawValue
    }

    public static let success = LDAPResultCode(0)
    public static let operationsError = LDAPResultCode(1)
    public static let protocolError = LDAPResultCode(2)
    public static let timeLimitExceeded = LDAPResultCode(3)
    public static let sizeLimitExceeded = LDAPResultCode(4)
    public static let authMethodNotSupported = LDAPResultCode(7)
    public static let strongerAuthRequired = LDAPResultCode(8)
    public static let confidentialityRequired = LDAPResultCode(13)
    public static let saslBindInProgress = LDAPResultCode(14)
    public static let noSuchObject = LDAPResultCode(32)
    public static let invalidDNSyntax = LDAPResultCode(34)
    public static let inappropriateAuthentication = LDAPResultCode(48)
    public static let invalidCredentials = LDAPResultCode(49)
    public static let insufficientAccessRights = LDAPResultCode(50)
    public static let busy = LDAPResultCode(51)
    public static let unavailable = LDAPResultCode(52)
    public static let unwillingToPerform = LDAPResultCode(53)
    public static let other = LDAPResultCode(80)

    public var description: String {
        let name: String? =
            switch rawValue {
            case 0: "success"
            case 1: "operationsError"
            case 2: "protocolError"
            case 3: "timeLimitExceeded"
            case 4: "sizeLimitExceeded"
            case 7: "authMethodNotSupported"
            case 8: "strongerAuthRequired"
            case 13: "confidentialityRequired"
            case 14: "saslBindInProgress"
            case 32: "noSuchObject"
            case 34: "invalidDNSyntax"
            case 48: "inappropriateAuthentication"
            case 49: "invalidCredentials"
            case 50: "insufficientAccessRights"
            case 51: "busy"
            case 52: "unavailable"
            case 53: "unwillingToPerform"
            case 80: "other"
            default: nil
            }
        return name.map { "\($0)(\(rawValue))" } ?? "\(rawValue)"
    }
}
