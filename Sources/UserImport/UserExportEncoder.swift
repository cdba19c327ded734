import MFACore

/// One user as export writes it.
public struct ExportRow: Sendable, Equatable {
    public var username: String
    public var mfa: MFAStatus
    /// Only when the export includes secrets.
    public var totpSecret: [UInt8]?
    /// Local groups, in name order.
    public var groups: [String]

    public init(username: String, mfa: MFAStatus, totpSecret: [UInt8]? = nil, groups: [String] = []) {
        self.username = username
        self.mfa = mfa
        self.totpSecret = totpSecret
        self.groups = groups
    }
}

/// Writes export rows as CSV (the import's header) or as a JSON array with one object a line; import reads both.
public struct UserExportEncoder: Sendable {
    public enum Format: Sendable { case csv, json }

    public var format: Format
    public var includeSecrets: Bool

    public init(format: Format, includeSecrets: Bool) {
        self.format = format
        self.includeSecrets = includeSecrets
    }

    public var header: String {
        switch format {
        case .csv: includeSecrets ? "username,groups,totp_secret,mfa\n" : "username,groups,mfa\n"
        case .json: "["
        }
    }

    /// `first` is whether no row came before (JSON needs the commas between).
    public func encode(_ row: ExportRow, first: Bool) -> String {
        let secret = row.totpSecret.map(Base32.encode) ?? ""
        switch format {
        case .csv:
            // Group names hold no `;` (StoreConventions), so the list splits back as it was.
            let groups = row.groups.joined(separator: ";")
            let fields =
                includeSecrets ? [row.username, groups, secret, row.mfa.rawValue] : [row.username, groups, row.mfa.rawValue]
            return fields.map(Self.csvField).joined(separator: ",") + "\n"
        case .json:
            var object = "{\"username\":\(JSONText.quoted(row.username))"
            object += ",\"groups\":[" + row.groups.map(JSONText.quoted).joined(separator: ",") + "]"
            if includeSecrets { object += ",\"totp_secret\":\(row.totpSecret == nil ? "null" : JSONText.quoted(secret))" }
            object += ",\"mfa\":\(JSONText.quoted(row.mfa.rawValue))}"
            return (first ? "\n" : ",\n") + object
        }
    }

    public func footer(empty: Bool) -> String {
        switch format {
        case .csv: ""
        case .json: empty ? "]\n" : "\n]\n"
        }
    }

    /// RFC 4180: quoted when it holds a comma, a quote or a line break; quotes doubled.
    static func csvField(_ text: String) -> String {
        guard text.utf8.contains(where: { $0 == UInt8(ascii: ",") || $0 == UInt8(ascii: "\"") || $0 == 0x0A || $0 == 0x0D })
        else { return text }
        var out = "\""
        for character in text { out += character == "\"" ? "\"\"" : String(character) }
        return out + "\""
    }
}
