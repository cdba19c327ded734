import CountersignConfig
import LDAPCodec
import MFACore

/// The decisions about a simple bind that need no directory: RFC 4513 §5.1 rules, exemptions, and which local
/// user a DN names.
struct LDAPBindPolicy: Sendable {
    enum Decision: Equatable {
        /// Pass the bind to the directory unchanged (exempt service account, allowed anonymous bind).
        case passThrough
        /// Bind to the directory with `password`, then ask the MFA core about `username` and `factor`.
        case withSecondFactor(username: String, password: [UInt8], factor: AppendedFactor)
        /// Answer at once with this result, without the directory.
        case refuse(LDAPRefusal)
    }

    let usernameAttribute: String
    let exempt: [String]
    let allowAnonymous: Bool
    let delimiter: Character

    init(settings: LDAPSettings, delimiter: Character) {
        usernameAttribute = settings.usernameAttribute.lowercased()
        exempt = settings.exempt.map(Self.normalized)
        allowAnonymous = settings.allowAnonymous
        self.delimiter = delimiter
    }

    func decide(name: String, password: [UInt8]) -> Decision {
        switch (name.isEmpty, password.isEmpty) {
        case (true, true):
            return allowAnonymous ? .passThrough : .refuse(.anonymousNotAllowed)
        case (false, true):
            // RFC 4513 §5.1.2: an unauthenticated bind; never a success here.
            return .refuse(.unauthenticatedBind)
        case (true, false):
            return .refuse(.passwordWithoutName)
        case (false, false):
            break
        }
        if isExempt(name) { return .passThrough }
        let (secret, factor) = AppendedFactor.split(String(decoding: password, as: UTF8.self), delimiter: delimiter)
        return .withSecondFactor(username: username(fromBindName: name), password: Array(secret.utf8), factor: factor)
    }

    /// Compared octet by octet: Swift's `String ==` would also match canonically equivalent spellings (é as one
    /// scalar or as e + accent), which the directory may hold as different entries.
    func isExempt(_ name: String) -> Bool {
        guard !exempt.isEmpty else { return false }
        let dn = Array(Self.normalized(name).utf8)
        return exempt.contains { entry in
            let entry = Array(entry.utf8)
            return dn == entry || dn.count > entry.count && dn.suffix(entry.count + 1).elementsEqual([UInt8(ascii: ",")] + entry)
        }
    }

    /// `uid=alice,ou=people,…` → `alice` (the configured attribute of the first RDN, RFC 4514 escapes undone);
    /// `alice@example.org` (userPrincipalName style) → `alice`; anything else → the name itself.
    func username(fromBindName name: String) -> String {
        guard name.contains("=") else {
            return name.split(separator: "@", maxSplits: 1).first.map(String.init) ?? name
        }
        let firstRDN = Self.splitUnescaped(name, on: UInt8(ascii: ",")).first ?? ""
        let parts = Self.splitUnescaped(firstRDN, on: UInt8(ascii: "="))
        guard parts.count == 2, parts[0].trimmingSpaces.lowercased() == usernameAttribute else { return name }
        return Self.unescape(parts[1].trimmingSpaces)
    }

    /// Lower case, no spaces around separators: enough to compare DNs written by people.
    static func normalized(_ dn: String) -> String {
        splitUnescaped(dn, on: UInt8(ascii: ",")).map { rdn in
            splitUnescaped(rdn, on: UInt8(ascii: "=")).map(\.trimmingSpaces).joined(separator: "=")
        }.joined(separator: ",").lowercased()
    }

    /// Split at the separators no backslash escapes (RFC 4514 §2.4), octet by octet: the separators are ASCII, which
    /// UTF-8 never uses inside another character.
    private static func splitUnescaped(_ text: String, on separator: UInt8) -> [String] {
        var parts: [String] = []
        var start = text.utf8.startIndex
        var escaped = false
        for index in text.utf8.indices {
            let byte = text.utf8[index]
            if escaped {
                escaped = false
            } else if byte == UInt8(ascii: "\\") {
                escaped = true
            } else if byte == separator {
                parts.append(String(decoding: text.utf8[start..<index], as: UTF8.self))
                start = text.utf8.index(after: index)
            }
        }
        parts.append(String(decoding: text.utf8[start...], as: UTF8.self))
        return parts
    }

    /// RFC 4514 §2.4: `\,` → `,`, `\2C` → `,`.
    static func unescape(_ value: String) -> String {
        var out: [UInt8] = []
        var bytes = Array(value.utf8)[...]
        while let byte = bytes.popFirst() {
            guard byte == UInt8(ascii: "\\"), let next = bytes.first else {
                out.append(byte)
                continue
            }
            if bytes.count >= 2, let high = hexValue(bytes[bytes.startIndex]), let low = hexValue(bytes[bytes.startIndex + 1]) {
                out.append(high << 4 | low)
                bytes = bytes.dropFirst(2)
            } else {
                out.append(next)
                bytes = bytes.dropFirst()
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// RFC 4514 §2.4, for putting a user name into a DN template.
    static func escape(_ value: String) -> String {
        var out = ""
        for (index, char) in value.enumerated() {
            let first = index == 0
            let last = index == value.count - 1
            switch char {
            case ",", "+", "\"", "\\", "<", ">", ";", "=":
                out += "\\\(char)"
            case "#" where first, " " where first || last:
                out += "\\\(char)"
            case "\u{0}":
                out += "\\00"
            default:
                out.append(char)
            }
        }
        return out
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}

/// Binds the proxy answers itself.
enum LDAPRefusal: Equatable {
    case anonymousNotAllowed, unauthenticatedBind, passwordWithoutName, unsupportedVersion, saslNotSupported

    var result: (code: LDAPResultCode, message: String) {
        switch self {
        case .anonymousNotAllowed: (.unwillingToPerform, "anonymous bind not allowed")
        case .unauthenticatedBind: (.unwillingToPerform, "unauthenticated bind (DN with an empty password) not allowed")
        case .passwordWithoutName: (.invalidCredentials, "invalid credentials")
        case .unsupportedVersion: (.protocolError, "only LDAPv3 is supported")
        case .saslNotSupported: (.authMethodNotSupported, "SASL binds are not supported")
        }
    }
}

extension String {
    var trimmingSpaces: String {
        var text = Substring(self)
        while text.first == " " { text = text.dropFirst() }
        while text.last == " " { text = text.dropLast() }
        return String(text)
    }
}
