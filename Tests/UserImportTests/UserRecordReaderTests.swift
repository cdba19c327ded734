import MFACore
import Testing

@testable import UserImport

/// The file formats, line numbers and checks, on text in memory.
@Suite struct UserRecordReaderTests {
    static let secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"  // 160 bits
    static let secretBytes = Base32.decode(secret)!

    static func read(_ format: ImportFormat, _ text: String) throws -> (records: [ImportRecord], warnings: [ImportWarning]) {
        let reader = try format.reader(ByteSource(text))
        var records: [ImportRecord] = []
        while let record = try reader.next() { records.append(record) }
        return (records, reader.warnings)
    }

    static func error(_ format: ImportFormat, _ text: String) -> ImportError? {
        do {
            _ = try read(format, text)
            return nil
        } catch {
            return error as? ImportError
        }
    }

    @Test func csvWithQuotesLineBreaksAndCRLF() throws {
        let text =
            "\u{FEFF}username,password,totp_secret,mfa\r\n"
            + "alice,\"correct, horse\",\(Self.secret),totp\r\n"
            + "\r\n"
            + "\"bob \"\"the builder\"\"\",\"two\nlines\",,\r\n"
            + "carol,,,none\n"
            + "dave,pw,\(Self.secret.lowercased()),"
        let (records, warnings) = try Self.read(.csv, text)
        #expect(warnings.isEmpty)
        #expect(
            records == [
                ImportRecord(line: 2, username: "alice", password: "correct, horse", totpSecret: Self.secretBytes, mfa: .totp),
                ImportRecord(line: 4, username: "bob \"the builder\"", password: "two\nlines"),
                ImportRecord(line: 6, username: "carol", mfa: MFAStatus.none),
                ImportRecord(line: 7, username: "dave", password: "pw", totpSecret: Self.secretBytes),
            ])
    }

    @Test func csvColumnsInAnyOrderAndOnlyUsernameRequired() throws {
        #expect(try Self.read(.csv, "totp_secret,username\n\(Self.secret),alice\n").records.map(\.totpSecret) == [Self.secretBytes])
        #expect(try Self.read(.csv, "username\nalice\nbob\n").records.map(\.username) == ["alice", "bob"])
    }

    @Test func csvHeaderErrorsNameTheColumn() {
        let unknown = Self.error(.csv, "username,email\nalice,a@example.com\n")
        #expect(unknown?.code == .unknownColumn && unknown?.line == 1)
        #expect(unknown?.description.contains("\"email\"") == true)
        #expect(Self.error(.csv, "password\npw\n")?.code == .missingColumn)
        #expect(Self.error(.csv, "")?.code == .missingColumn)
        #expect(Self.error(.csv, "username,username\n")?.code == .unknownColumn)
    }

    /// Every kind of bad row names its line; line 3 here, after a good line 2.
    @Test(arguments: [
        (",pw,,", ImportError.Code.emptyName),
        ("alice,,,", .duplicateName),
        ("bob,,not base32!,", .badSecret),
        ("bob,,JBSWY3DP,", .weakSecret),  // 40 bits
        ("bob,pw", .syntax),
        ("bob,,,none,x", .syntax),
        ("bob,,,sometimes", .badValue),
        ("bob,,,totp", .badValue),
        ("\"bob,,,", .syntax),
        ("b\"ob,,,", .syntax),
        ("\"line\u{1}break\",,,", .invalidName),
    ])
    func badCSVRowNamesLineThree(row: String, code: ImportError.Code) {
        let error = Self.error(.csv, "username,password,totp_secret,mfa\nalice,pw,,\n\(row)\n")
        #expect(error?.code == code, "\(row): \(String(describing: error))")
        #expect(error?.line == 3, "\(row): \(String(describing: error))")
        #expect(error?.description.hasPrefix("line 3: ") == true)
    }

    // MARK: Groups

    /// `;` between names; spaces around a name, empty names and repeats dropped; an empty field is no groups, no
    /// column is nothing said about groups.
    @Test func csvGroupsColumn() throws {
        let text = "username,groups\nalice,vpn;Admins\nbob,\ncarol,\" vpn ; ;wifi,5g;vpn;\"\n\"dave\",\"CN=Ops,OU=IT\"\n"
        let records = try Self.read(.csv, text).records
        #expect(records.map(\.groups) == [["vpn", "Admins"], [], ["vpn", "wifi,5g"], ["CN=Ops,OU=IT"]])
        #expect(try Self.read(.csv, "username\nalice\n").records[0].groups == nil)
    }

    /// A bad group name names its line: a control character, or more than a user name may hold.
    @Test(arguments: ["vpn;a\u{1}b", String(repeating: "g", count: 254)])
    func aBadGroupNameNamesItsLine(groups: String) {
        let csv = Self.error(.csv, "username,groups\nalice,vpn\nbob,\(groups)\n")
        #expect(csv?.code == .invalidGroupName && csv?.line == 3, "\(String(describing: csv))")
        #expect(csv?.description.hasPrefix("line 3: group ") == true)
        let escaped = groups.replacingOccurrences(of: "\u{1}", with: "\\u0001")
        let json = Self.error(.json, "[\n{\"username\": \"alice\", \"groups\": \"vpn\"},\n{\"username\": \"bob\", \"groups\": \"\(escaped)\"}\n]")
        #expect(json?.code == .invalidGroupName && json?.line == 3, "\(String(describing: json))")
    }

    /// JSON: the CSV's `;`-separated string, or an array of names; null or no key says nothing about groups.
    @Test func jsonGroupsAsTextOrArray() throws {
        let text = """
            [
              {"username": "alice", "groups": "vpn;admins"},
              {"username": "bob", "groups": ["vpn", "semi;colon"]},
              {"username": "carol", "groups": ["wifi", "wifi"]},
              {"username": "dave", "groups": []},
              {"username": "erin", "groups": null},
              {"username": "frank"}
            ]
            """
        #expect(Self.error(.json, text)?.code == .invalidGroupName)
        let records = try Self.read(.json, text.replacingOccurrences(of: "semi;colon", with: "semicolon")).records
        #expect(records.map(\.groups) == [["vpn", "admins"], ["vpn", "semicolon"], ["wifi"], [], nil, nil])
        let number = Self.error(.json, "[\n{\"username\": \"alice\",\n \"groups\": [\"vpn\", 3]}\n]")
        #expect(number?.code == .badValue && number?.line == 3)
        let empty = Self.error(.json, "[{\"username\": \"alice\", \"groups\": [\"\"]}]")
        #expect(empty?.code == .invalidGroupName && empty?.line == 1)
        #expect(Self.error(.json, "[{\"username\": \"alice\", \"mfa\": [\"totp\"]}]")?.code == .badValue)
        #expect(Self.error(.json, "[{\"username\": \"alice\", \"groups\": [\"vpn\" \"x\"]}]")?.code == .syntax)
    }

    /// 80 bits is the floor: accepted; 75 (15 characters) is not.
    @Test func eightyBitSecretsAreTheFloor() throws {
        #expect(try Self.read(.csv, "username,totp_secret\nalice,JBSWY3DPEHPK3PXP\n").records[0].totpSecret?.count == 10)
        #expect(Self.error(.csv, "username,totp_secret\nalice,JBSWY3DPEHPK3PA\n")?.code == .weakSecret)
    }

    @Test func duplicateNamesTheFirstLine() {
        let error = Self.error(.csv, "username\nalice\nbob\nalice\n")
        #expect(error?.code == .duplicateName && error?.line == 4)
        #expect(error?.message.contains("first on line 2") == true)
    }

    @Test func pushInMFAIsAWarningOncePerKind() throws {
        let (records, warnings) = try Self.read(.csv, "username,mfa\nalice,push\nbob,push\n")
        #expect(records.count == 2)
        #expect(warnings.count == 1 && warnings[0].count == 2 && warnings[0].firstLine == 2)
    }

    @Test func jsonArrayOfObjects() throws {
        let text = """
            [
              {"username": "alice", "password": "correct \\"horse\\"", "totp_secret": "\(Self.secret)", "mfa": "totp"},
              {
                "username": "j\\u00fcrgen \\ud83d\\ude00",
                "password": null
              },
              {"username":"carol"}
            ]

            """
        let (records, _) = try Self.read(.json, text)
        #expect(
            records == [
                ImportRecord(line: 2, username: "alice", password: "correct \"horse\"", totpSecret: Self.secretBytes, mfa: .totp),
                ImportRecord(line: 3, username: "jürgen 😀"),
                ImportRecord(line: 7, username: "carol"),
            ])
        #expect(try Self.read(.json, " [ ] ").records.isEmpty)
    }

    @Test func jsonErrorsNameTheLine() {
        let unknown = Self.error(.json, "[\n{\"username\": \"alice\"},\n{\"username\": \"bob\", \"email\": \"b@example.com\"}\n]")
        #expect(unknown?.code == .unknownColumn && unknown?.line == 3 && unknown?.message.contains("\"email\"") == true)
        let duplicate = Self.error(.json, "[\n{\"username\": \"alice\"},\n{\"username\": \"alice\"}\n]")
        #expect(duplicate?.code == .duplicateName && duplicate?.line == 3)
        let number = Self.error(.json, "[\n{\"username\": \"alice\"},\n{\"username\": 3}\n]")
        #expect(number?.code == .badValue && number?.line == 3)
        #expect(Self.error(.json, "{\"username\": \"alice\"}")?.code == .syntax)
        #expect(Self.error(.json, "[{\"username\": \"alice\"}")?.code == .syntax)
        #expect(Self.error(.json, "[{\"username\": \"alice\"}] x")?.code == .syntax)
        #expect(Self.error(.json, "[{}]")?.code == .emptyName)
    }

    @Test func freeRADIUSUsersFile() throws {
        let text = """
            # Migrated from the old RADIUS server.
            alice   Cleartext-Password := "correct horse", TOTP-Secret := "\(Self.secret)"
                    Reply-Message := "Hello, %{User-Name}",
                    Framed-IP-Address = 10.0.0.5

            "bob smith" Cleartext-Password := 'pass,word'   # a comment
            \tReply-Message = "Hi"

            carol   TOTP-Secret := \(Self.secret), NAS-IP-Address == 192.0.2.1
            dave    Crypt-Password := "$1$abc$def"
            erin    User-Password == "old style"
            DEFAULT Auth-Type := Reject
                    Reply-Message = "Unknown user"
            $INCLUDE users.d/more
            """
        let (records, warnings) = try Self.read(.freeradius, text)
        #expect(
            records == [
                ImportRecord(line: 2, username: "alice", password: "correct horse", totpSecret: Self.secretBytes),
                ImportRecord(line: 6, username: "bob smith", password: "pass,word"),
                ImportRecord(line: 9, username: "carol", totpSecret: Self.secretBytes),
                ImportRecord(line: 10, username: "dave"),
                ImportRecord(line: 11, username: "erin", password: "old style"),
            ])
        let kinds = warnings.map(\.kind)
        #expect(kinds.count == 6, "\(kinds)")
        #expect(warnings.first { $0.kind == "reply item Reply-Message is not imported" }?.count == 2)
        #expect(kinds.contains("reply item Framed-IP-Address is not imported"))
        #expect(kinds.contains { $0.hasPrefix("check item NAS-IP-Address") })
        #expect(kinds.contains { $0.hasPrefix("Crypt-Password is a password hash") })
        #expect(kinds.contains { $0.hasPrefix("DEFAULT") })
        #expect(kinds.contains { $0.hasPrefix("$INCLUDE") })
    }

    @Test func freeRADIUSErrorsNameTheLine() {
        let duplicate = Self.error(.freeradius, "alice Cleartext-Password := \"a\"\n\nalice Cleartext-Password := \"b\"\n")
        #expect(duplicate?.code == .duplicateName && duplicate?.line == 3)
        let weak = Self.error(.freeradius, "# users\n\tReply-Message = \"x\"\n")
        #expect(weak?.code == .syntax && weak?.line == 2)
        let bad = Self.error(.freeradius, "alice Cleartext-Password := \"a\"\nbob\n  Reply-Message = \"x\"\ncarol TOTP-Secret := \"0000\"\n")
        #expect(bad?.code == .badSecret && bad?.line == 4)
        let unclosed = Self.error(.freeradius, "alice Cleartext-Password := \"a\n")
        #expect(unclosed?.code == .syntax && unclosed?.line == 1)
    }

    @Test func formatFromTheFileName() {
        #expect(ImportFormat(inferringFrom: "/tmp/People.CSV") == .csv)
        #expect(ImportFormat(inferringFrom: "export.json") == .json)
        #expect(ImportFormat(inferringFrom: "/etc/freeradius/3.0/users") == .freeradius)
        #expect(ImportFormat(inferringFrom: "mods-config/files/authorize") == .freeradius)
        #expect(ImportFormat(inferringFrom: "people.txt") == nil)
    }

    /// What export writes, import reads back: awkward names survive both formats.
    @Test(arguments: [UserExportEncoder.Format.csv, .json])
    func exportRowsReadBack(format: UserExportEncoder.Format) throws {
        let rows = [
            ExportRow(username: "alice", mfa: .totp, totpSecret: Self.secretBytes, groups: ["CN=Ops,OU=IT", "vpn \"x\""]),
            ExportRow(username: "bob, \"the\" builder", mfa: MFAStatus.none),
            ExportRow(username: "jürgen\\", mfa: .totp, totpSecret: Self.secretBytes, groups: ["jürgens\\"]),
        ]
        let encoder = UserExportEncoder(format: format, includeSecrets: true)
        var text = encoder.header
        for (index, row) in rows.enumerated() { text += encoder.encode(row, first: index == 0) }
        text += encoder.footer(empty: rows.isEmpty)
        let records = try Self.read(format == .csv ? .csv : .json, text).records
        #expect(records.map(\.username) == rows.map(\.username))
        #expect(records.map(\.totpSecret) == rows.map(\.totpSecret))
        #expect(records.map(\.mfa) == rows.map(\.mfa))
        #expect(records.map(\.groups) == rows.map { Optional($0.groups) })
        let empty = UserExportEncoder(format: format, includeSecrets: false)
        #expect(try Self.read(format == .csv ? .csv : .json, empty.header + empty.footer(empty: true)).records.isEmpty)
    }
}
