import MFACore

/// One user read from an import file, checked: a valid name not seen before, a base32 secret of 80 bits or more.
/// The password is still in the clear; the importer hashes it.
public struct ImportRecord: Sendable, Equatable {
    /// Where the record starts, for the store's own errors (an existing user).
    public var line: Int
    public var username: String
    public var password: String?
    public var totpSecret: [UInt8]?
    /// The `mfa` column when given.
    public var mfa: MFAStatus?
    /// The `groups` column: each name once, in the file's order; nil when the file has no such column (or JSON's
    /// object no such key), [] when it is empty.
    public var groups: [String]?

    public init(
        line: Int, username: String, password: String? = nil, totpSecret: [UInt8]? = nil, mfa: MFAStatus? = nil,
        groups: [String]? = nil
    ) {
        self.line = line
        self.username = username
        self.password = password
        self.totpSecret = totpSecret
        self.mfa = mfa
        self.groups = groups
    }
}

/// The `groups` field as a file gives it.
enum GroupsField {
    /// Names separated by `;` (CSV, and JSON's string); spaces around a name and empty names are ignored.
    case separated(String)
    /// JSON's array of strings, each a name as it is.
    case list([String])

    /// Each name checked by the store's rule, each once, in the file's order.
    func names(line: Int) throws -> [String] {
        let names =
            switch self {
            case .separated(let text): text.split(separator: ";").map { String($0).trimmingSpaces() }.filter { !$0.isEmpty }
            case .list(let names): names
            }
        var seen: Set<String> = []
        return try names.filter { name in
            do {
                try StoreConventions.validate(groupName: name)
            } catch let error as StoreError {
                throw ImportError(.invalidGroupName, line: line, "group \(String(reflecting: name)): \(error.message)")
            }
            return seen.insert(name).inserted
        }
    }
}

/// The enrollment status column, `mfa`, as export writes it.
public enum MFAStatus: String, Sendable, Equatable, CaseIterable {
    case none
    case totp
    case push
    case totpAndPush = "totp+push"

    public init(totp: Bool, push: Bool) {
        switch (totp, push) {
        case (false, false): self = .none
        case (true, false): self = .totp
        case (false, true): self = .push
        case (true, true): self = .totpAndPush
        }
    }

    public var includesTOTP: Bool { self == .totp || self == .totpAndPush }
    public var includesPush: Bool { self == .push || self == .totpAndPush }
}

/// The file formats `countersign user import` reads.
public enum ImportFormat: String, Sendable, Equatable, CaseIterable {
    case csv
    case json
    case freeradius

    /// From the file name: `.csv`, `.json`; FreeRADIUS's own names `users` and `authorize` (or `.users`).
    public init?(inferringFrom path: String) {
        let name = path.split(separator: "/").last.map(String.init)?.lowercased() ?? ""
        if name.hasSuffix(".csv") {
            self = .csv
        } else if name.hasSuffix(".json") {
            self = .json
        } else if name == "users" || name == "authorize" || name.hasSuffix(".users") {
            self = .freeradius
        } else {
            return nil
        }
    }
}

/// The checks every format shares. Duplicates are found with a dictionary of the names seen (some 70 bytes a
/// name at its peak, while the table doubles: about 70 MB for a million users), the only memory that grows with
/// the file.
struct RecordChecker {
    /// A secret under 80 bits is refused (RFC 4226 §4 R6 asks for 128, recommends 160; 80 is Google
    /// Authenticator's floor and what old tokens carry).
    static let minimumSecretBytes = 10

    private var firstLine: [String: Int] = [:]
    var warnings = ImportWarnings()

    mutating func record(
        line: Int, username: String, password: String?, totpSecret: String?, mfa: String?, groups: GroupsField? = nil
    ) throws -> ImportRecord {
        guard !username.isEmpty else { throw ImportError(.emptyName, line: line, "the user name is empty") }
        guard UserName.isValid(username) else { throw ImportError(.invalidName, line: line, "\(UserName.rule)") }
        if let first = firstLine[username] {
            throw ImportError(.duplicateName, line: line, "user \(username) appears twice (first on line \(first))")
        }
        firstLine[username] = line
        var secret: [UInt8]?
        if let text = totpSecret, !text.isEmpty {
            guard let bytes = Base32.decode(text) else {
                throw ImportError(.badSecret, line: line, "the TOTP secret of \(username) is not base32 (A–Z, 2–7)")
            }
            guard bytes.count >= Self.minimumSecretBytes else {
                throw ImportError(
                    .weakSecret, line: line,
                    "the TOTP secret of \(username) is \(bytes.count * 8) bits; at least \(Self.minimumSecretBytes * 8) are needed")
            }
            secret = bytes
        }
        var status: MFAStatus?
        if let mfa, !mfa.isEmpty {
            guard let parsed = MFAStatus(rawValue: mfa) else {
                let known = MFAStatus.allCases.map(\.rawValue).joined(separator: ", ")
                throw ImportError(.badValue, line: line, "mfa is \"\(mfa)\"; one of \(known) or empty")
            }
            // A contradiction means the file is not what the operator thinks it is (an export without secrets).
            if parsed.includesTOTP && secret == nil {
                throw ImportError(
                    .badValue, line: line,
                    "mfa is \(parsed.rawValue) but \(username) has no totp_secret (export with --include-secrets)")
            }
            if !parsed.includesTOTP && secret != nil {
                throw ImportError(.badValue, line: line, "\(username) has a totp_secret but mfa is \(parsed.rawValue)")
            }
            if parsed.includesPush {
                warnings.add("push devices are not imported: these users enroll their device again", line: line)
            }
            status = parsed
        }
        return ImportRecord(
            line: line, username: username, password: password.flatMap { $0.isEmpty ? nil : $0 }, totpSecret: secret, mfa: status,
            groups: try groups?.names(line: line))
    }
}
