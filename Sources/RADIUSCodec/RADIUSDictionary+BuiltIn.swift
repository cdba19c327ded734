/// The attributes of RFC 2865 and RFC 2869 (with the values of Service-Type and Framed-Protocol): the dictionary when
/// no dictionary file is configured and Debian's (package `freeradius-common`) is not installed.
extension RADIUSDictionary {
    public static let builtIn: RADIUSDictionary = {
        var dictionary = RADIUSDictionary()
        // The text is ours and well formed: a failure here is a programming error.
        try! dictionary.parse(builtInText, file: "built-in", read: { _ in "" })
        return dictionary
    }()

    static let builtInText = """
        ATTRIBUTE User-Name 1 string
        ATTRIBUTE User-Password 2 string encrypt=1
        ATTRIBUTE CHAP-Password 3 octets
        ATTRIBUTE NAS-IP-Address 4 ipaddr
        ATTRIBUTE NAS-Port 5 integer
        ATTRIBUTE Service-Type 6 integer
        ATTRIBUTE Framed-Protocol 7 integer
        ATTRIBUTE Framed-IP-Address 8 ipaddr
        ATTRIBUTE Framed-IP-Netmask 9 ipaddr
        ATTRIBUTE Framed-Routing 10 integer
        ATTRIBUTE Filter-Id 11 string
        ATTRIBUTE Framed-MTU 12 integer
        ATTRIBUTE Framed-Compression 13 integer
        ATTRIBUTE Login-IP-Host 14 ipaddr
        ATTRIBUTE Login-Service 15 integer
        ATTRIBUTE Login-TCP-Port 16 integer
        ATTRIBUTE Reply-Message 18 string
        ATTRIBUTE Callback-Number 19 string
        ATTRIBUTE Callback-Id 20 string
        ATTRIBUTE Framed-Route 22 string
        ATTRIBUTE Framed-IPX-Network 23 ipaddr
        ATTRIBUTE State 24 octets
        ATTRIBUTE Class 25 octets
        ATTRIBUTE Vendor-Specific 26 vsa
        ATTRIBUTE Session-Timeout 27 integer
        ATTRIBUTE Idle-Timeout 28 integer
        ATTRIBUTE Termination-Action 29 integer
        ATTRIBUTE Called-Station-Id 30 string
        ATTRIBUTE Calling-Station-Id 31 string
        ATTRIBUTE NAS-Identifier 32 string
        ATTRIBUTE Proxy-State 33 octets
        ATTRIBUTE Login-LAT-Service 34 string
        ATTRIBUTE Login-LAT-Node 35 string
        ATTRIBUTE Login-LAT-Group 36 octets
        ATTRIBUTE Framed-AppleTalk-Link 37 integer
        ATTRIBUTE Framed-AppleTalk-Network 38 integer
        ATTRIBUTE Framed-AppleTalk-Zone 39 string
        ATTRIBUTE CHAP-Challenge 60 octets
        ATTRIBUTE NAS-Port-Type 61 integer
        ATTRIBUTE Port-Limit 62 integer
        ATTRIBUTE Login-LAT-Port 63 string
        ATTRIBUTE Acct-Input-Gigawords 52 integer
        ATTRIBUTE Acct-Output-Gigawords 53 integer
        ATTRIBUTE Event-Timestamp 55 date
        ATTRIBUTE ARAP-Password 70 octets[16]
        ATTRIBUTE ARAP-Features 71 octets[14]
        ATTRIBUTE ARAP-Zone-Access 72 integer
        ATTRIBUTE ARAP-Security 73 integer
        ATTRIBUTE ARAP-Security-Data 74 string
        ATTRIBUTE Password-Retry 75 integer
        ATTRIBUTE Prompt 76 integer
        ATTRIBUTE Connect-Info 77 string
        ATTRIBUTE Configuration-Token 78 string
        ATTRIBUTE EAP-Message 79 octets concat
        ATTRIBUTE Message-Authenticator 80 octets
        ATTRIBUTE ARAP-Challenge-Response 84 octets[8]
        ATTRIBUTE Acct-Interim-Interval 85 integer
        ATTRIBUTE NAS-Port-Id 87 string
        ATTRIBUTE Framed-Pool 88 string
        VALUE Service-Type Login-User 1
        VALUE Service-Type Framed-User 2
        VALUE Service-Type Callback-Login-User 3
        VALUE Service-Type Callback-Framed-User 4
        VALUE Service-Type Outbound-User 5
        VALUE Service-Type Administrative-User 6
        VALUE Service-Type NAS-Prompt-User 7
        VALUE Service-Type Authenticate-Only 8
        VALUE Service-Type Callback-NAS-Prompt 9
        VALUE Service-Type Call-Check 10
        VALUE Service-Type Callback-Administrative 11
        VALUE Framed-Protocol PPP 1
        VALUE Framed-Protocol SLIP 2
        VALUE Framed-Protocol ARAP 3
        VALUE Framed-Protocol Gandalf-SLML 4
        VALUE Framed-Protocol Xylogics-IPX-SLIP 5
        VALUE Framed-Protocol X.75-Synchronous 6
        """
}
