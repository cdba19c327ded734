/// LDAPOIDs of the extended operations the proxy handles.
public enum LDAPOID {
    /// RFC 4511 §4.14.1 StartTLS.
    public static let startTLS = "1.3.6.1.4.1.1466.20037"
    /// RFC 4511 §4.4.1 Notice of Disconnection.
    public static let noticeOfDisconnection = "1.3.6.1.4.1.1466.20036"
}

extension LDAPMessage {
    /// RFC 4511 §4.4.1: messageID 0, extendedResponse with responseName = noticeOfDisconnection, no value.
    public static func noticeOfDisconnection(_ code: LDAPResultCode, message: String) -> LDAPMessage {
        LDAPMessage(
            messageID: 0,
            protocolOp: .extendedResponse(
                LDAPResult(resultCode: code, matchedDN: "", diagnosticMessage: message),
                name: LDAPOID.noticeOfDisconnection,
                value: nil
            )
        )
    }
}
