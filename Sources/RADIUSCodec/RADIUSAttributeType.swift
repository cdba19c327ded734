/// The Type octet of a RADIUS attribute. The static names cover the RFC 2865, 2866, 2869,
/// 3162, 3579 and 5176 dictionaries; any other value is still representable.
public struct RADIUSAttributeType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt8

    public init(rawValue: UInt8) {
        self.rawValue = rawValue
    }

    // RFC 2865 §5
    public static let userName = RADIUSAttributeType(rawValue: 1)
    public static let userPassword = RADIUSAttributeType(rawValue: 2)
    public static let chapPassword = RADIUSAttributeType(rawValue: 3)
    public static let nasIPAddress = RADIUSAttributeType(rawValue: 4)
    public static let nasPort = RADIUSAttributeType(rawValue: 5)
    public static let serviceType = RADIUSAttributeType(rawValue: 6)
    public static let framedProtocol = RADIUSAttributeType(rawValue: 7)
    public static let framedIPAddress = RADIUSAttributeType(rawValue: 8)
    public static let framedIPNetmask = RADIUSAttributeType(rawValue: 9)
    public static let framedRouting = RADIUSAttributeType(rawValue: 10)
    public static let filterId = RADIUSAttributeType(rawValue: 11)
    public static let framedMTU = RADIUSAttributeType(rawValue: 12)
    public static let framedCompression = RADIUSAttributeType(rawValue: 13)
    public static let loginIPHost = RADIUSAttributeType(rawValue: 14)
    public static let loginService = RADIUSAttributeType(rawValue: 15)
    public static let loginTCPPort = RADIUSAttributeType(rawValue: 16)
    public static let replyMessage = RADIUSAttributeType(rawValue: 18)
    public static let callbackNumber = RADIUSAttributeType(rawValue: 19)
    public static let callbackId = RADIUSAttributeType(rawValue: 20)
    public static let framedRoute = RADIUSAttributeType(rawValue: 22)
    public static let framedIPXNetwork = RADIUSAttributeType(rawValue: 23)
    public static let state = RADIUSAttributeType(rawValue: 24)
    public static let `class` = RADIUSAttributeType(rawValue: 25)
    public static let vendorSpecific = RADIUSAttributeType(rawValue: 26)
    public static let sessionTimeout = RADIUSAttributeType(rawValue: 27)
    public static let idleTimeout = RADIUSAttributeType(rawValue: 28)
    public static let terminationAction = RADIUSAttributeType(rawValue: 29)
    public static let calledStationId = RADIUSAttributeType(rawValue: 30)
    public static let callingStationId = RADIUSAttributeType(rawValue: 31)
    public static let nasIdentifier = RADIUSAttributeType(rawValue: 32)
    public static let proxyState = RADIUSAttributeType(rawValue: 33)
    public static let loginLATService = RADIUSAttributeType(rawValue: 34)
    public static let loginLATNode = RADIUSAttributeType(rawValue: 35)
    public static let loginLATGroup = RADIUSAttributeType(rawValue: 36)
    public static let framedAppleTalkLink = RADIUSAttributeType(rawValue: 37)
    public static let framedAppleTalkNetwork = RADIUSAttributeType(rawValue: 38)
    public static let framedAppleTalkZone = RADIUSAttributeType(rawValue: 39)
    // RFC 2866 §5
    public static let acctStatusType = RADIUSAttributeType(rawValue: 40)
    public static let acctDelayTime = RADIUSAttributeType(rawValue: 41)
    public static let acctInputOctets = RADIUSAttributeType(rawValue: 42)
    public static let acctOutputOctets = RADIUSAttributeType(rawValue: 43)
    public static let acctSessionId = RADIUSAttributeType(rawValue: 44)
    public static let acctAuthentic = RADIUSAttributeType(rawValue: 45)
    public static let acctSessionTime = RADIUSAttributeType(rawValue: 46)
    public static let acctInputPackets = RADIUSAttributeType(rawValue: 47)
    public static let acctOutputPackets = RADIUSAttributeType(rawValue: 48)
    public static let acctTerminateCause = RADIUSAttributeType(rawValue: 49)
    public static let acctMultiSessionId = RADIUSAttributeType(rawValue: 50)
    public static let acctLinkCount = RADIUSAttributeType(rawValue: 51)
    // RFC 2869 §5
    public static let acctInputGigawords = RADIUSAttributeType(rawValue: 52)
    public static let acctOutputGigawords = RADIUSAttributeType(rawValue: 53)
    public static let eventTimestamp = RADIUSAttributeType(rawValue: 55)
    // RFC 2865 §5
    public static let chapChallenge = RADIUSAttributeType(rawValue: 60)
    public static let nasPortType = RADIUSAttributeType(rawValue: 61)
    public static let portLimit = RADIUSAttributeType(rawValue: 62)
    public static let loginLATPort = RADIUSAttributeType(rawValue: 63)
    // RFC 2869 §5
    public static let arapPassword = RADIUSAttributeType(rawValue: 70)
    public static let arapFeatures = RADIUSAttributeType(rawValue: 71)
    public static let arapZoneAccess = RADIUSAttributeType(rawValue: 72)
    public static let arapSecurity = RADIUSAttributeType(rawValue: 73)
    public static let arapSecurityData = RADIUSAttributeType(rawValue: 74)
    public static let passwordRetry = RADIUSAttributeType(rawValue: 75)
    public static let prompt = RADIUSAttributeType(rawValue: 76)
    public static let connectInfo = RADIUSAttributeType(rawValue: 77)
    public static let configurationToken = RADIUSAttributeType(rawValue: 78)
    // RFC 3579 §3.1, §3.2
    public static let eapMessage = RADIUSAttributeType(rawValue: 79)
    public static let messageAuthenticator = RADIUSAttributeType(rawValue: 80)
    // RFC 2869 §5
    public static let arapChallengeResponse = RADIUSAttributeType(rawValue: 84)
    public static let acctInterimInterval = RADIUSAttributeType(rawValue: 85)
    public static let nasPortId = RADIUSAttributeType(rawValue: 87)
    public static let framedPool = RADIUSAttributeType(rawValue: 88)
    // RFC 3162 §2
    public static let nasIPv6Address = RADIUSAttributeType(rawValue: 95)
    public static let framedInterfaceId = RADIUSAttributeType(rawValue: 96)
    public static let framedIPv6Prefix = RADIUSAttributeType(rawValue: 97)
    public static let loginIPv6Host = RADIUSAttributeType(rawValue: 98)
    public static let framedIPv6Route = RADIUSAttributeType(rawValue: 99)
    public static let framedIPv6Pool = RADIUSAttributeType(rawValue: 100)
    // RFC 5176 §3.5
    public static let errorCause = RADIUSAttributeType(rawValue: 101)

    public var description: String {
        switch rawValue {
        case 1: "User-Name"
        case 2: "User-Password"
        case 3: "CHAP-Password"
        case 4: "NAS-IP-Address"
        case 5: "NAS-Port"
        case 6: "Service-Type"
        case 7: "Framed-Protocol"
        case 8: "Framed-IP-Address"
        case 9: "Framed-IP-Netmask"
        case 10: "Framed-Routing"
        case 11: "Filter-Id"
        case 12: "Framed-MTU"
        case 13: "Framed-Compression"
        case 14: "Login-IP-Host"
        case 15: "Login-Service"
        case 16: "Login-TCP-Port"
        case 18: "Reply-Message"
        case 19: "Callback-Number"
        case 20: "Callback-Id"
        case 22: "Framed-Route"
        case 23: "Framed-IPX-Network"
        case 24: "State"
        case 25: "Class"
        case 26: "Vendor-Specific"
        case 27: "Session-Timeout"
        case 28: "Idle-Timeout"
        case 29: "Termination-Action"
        case 30: "Called-Station-Id"
        case 31: "Calling-Station-Id"
        case 32: "NAS-Identifier"
        case 33: "Proxy-State"
        case 34: "Login-LAT-Service"
        case 35: "Login-LAT-Node"
        case 36: "Login-LAT-Group"
        case 37: "Framed-AppleTalk-Link"
        case 38: "Framed-AppleTalk-Network"
        case 39: "Framed-AppleTalk-Zone"
        case 40: "Acct-Status-Type"
        case 41: "Acct-Delay-Time"
        case 42: "Acct-Input-Octets"
        case 43: "Acct-Output-Octets"
        case 44: "Acct-Session-Id"
        case 45: "Acct-Authentic"
        case 46: "Acct-Session-Time"
        case 47: "Acct-Input-Packets"
        case 48: "Acct-Output-Packets"
        case 49: "Acct-Terminate-Cause"
        case 50: "Acct-Multi-Session-Id"
        case 51: "Acct-Link-Count"
        case 52: "Acct-Input-Gigawords"
        case 53: "Acct-Output-Gigawords"
        case 55: "Event-Timestamp"
        case 60: "CHAP-Challenge"
        case 61: "NAS-Port-Type"
        case 62: "Port-Limit"
        case 63: "Login-LAT-Port"
        case 70: "ARAP-Password"
        case 71: "ARAP-Features"
        case 72: "ARAP-Zone-Access"
        case 73: "ARAP-Security"
        case 74: "ARAP-Security-Data"
        case 75: "Password-Retry"
        case 76: "Prompt"
        case 77: "Connect-Info"
        case 78: "Configuration-Token"
        case 79: "EAP-Message"
        case 80: "Message-Authenticator"
        case 84: "ARAP-Challenge-Response"
        case 85: "Acct-Interim-Interval"
        case 87: "NAS-Port-Id"
        case 88: "Framed-Pool"
        case 95: "NAS-IPv6-Address"
        case 96: "Framed-Interface-Id"
        case 97: "Framed-IPv6-Prefix"
        case 98: "Login-IPv6-Host"
        case 99: "Framed-IPv6-Route"
        case 100: "Framed-IPv6-Pool"
        case 101: "Error-Cause"
        default: "Attribute-\(rawValue)"
        }
    }
}
