/// A FreeRADIUS `users` file (mods-config/files/authorize): each entry starts at the left margin with the user
/// name and its check items, and goes on with indented lines of reply items.
///
///     alice   Cleartext-Password := "correct horse", TOTP-Secret := "JBSWY3DPEHPK3PXP…"
///             Reply-Message := "Hello, %{User-Name}",
///             Framed-IP-Address = 10.0.0.5
///
/// `Cleartext-Password` (or the old `User-Password ==`) and `TOTP-Secret` are taken; everything else (reply
/// items, other check items, `DEFAULT` entries, `$INCLUDE`) is skipped with one warning per kind.
public final class FreeRADIUSUserReader: UserRecordReader {
    private let source: ByteSource
    private var checker = RecordChecker()
    private var lineNumber = 0
    private var bytes: [UInt8] = []
    /// An entry's first line, read while looking for the previous entry's last reply line.
    private var pending: (number: Int, bytes: [UInt8])?

    public var warnings: [ImportWarning] { checker.warnings.all }
    public var bytesRead: Int { source.bytesRead }
    public var totalBytes: Int? { source.totalBytes }

    public init(_ source: ByteSource) {
        self.source = source
    }

    struct Item: Equatable {
        var attribute: String
        var op: String
        var value: String
    }

    public func next() throws -> ImportRecord? {
        while let (number, first) = try nextEntryLine() {
            var cursor = Cursor(bytes: first, line: number)
            let name = try cursor.word()
            let including = name == "$INCLUDE" || name == "$-INCLUDE"
            let checkItems = including ? [] : try cursor.items()
            // The reply lines: indented, up to the next entry (blank lines and comments between them are allowed).
            var replyItems: [(item: Item, line: Int)] = []
            while let (replyNumber, reply) = try nextLine() {
                if Self.isBlankOrComment(reply) { continue }
                guard Self.isIndented(reply) else {
                    pending = (replyNumber, reply)
                    break
                }
                var replyCursor = Cursor(bytes: reply, line: replyNumber)
                replyItems += try replyCursor.items().map { ($0, replyNumber) }
            }
            if including {
                checker.warnings.add("$INCLUDE is not followed: import the included file on its own", line: number)
                continue
            }
            if name == "DEFAULT" {
                checker.warnings.add("DEFAULT entries apply to every user and are skipped", line: number)
                continue
            }
            for (item, line) in replyItems {
                checker.warnings.add("reply item \(item.attribute) is not imported", line: line)
            }
            return try record(name: name, line: number, checkItems: checkItems)
        }
        return nil
    }

    private func record(name: String, line: Int, checkItems: [Item]) throws -> ImportRecord {
        var password: String?
        var secret: String?
        for item in checkItems {
            let attribute = item.attribute.lowercased()
            let setting = [":=", "=", "=="].contains(item.op)
            if setting && (attribute == "cleartext-password" || (attribute == "user-password" && item.op == "==")) {
                guard password == nil else { throw ImportError(.syntax, line: line, "two passwords for \(name)") }
                password = item.value
            } else if setting && attribute == "totp-secret" {
                guard secret == nil else { throw ImportError(.syntax, line: line, "two TOTP-Secret items for \(name)") }
                secret = item.value
            } else if attribute.hasSuffix("-password") && attribute != "cleartext-password" && attribute != "user-password" {
                checker.warnings.add(
                    "\(item.attribute) is a password hash Countersign cannot check: those users get no password", line: line)
            } else {
                checker.warnings.add("check item \(item.attribute) \(item.op) has no equivalent and is skipped", line: line)
            }
        }
        if let password, password.isEmpty { throw ImportError(.badValue, line: line, "the password of \(name) is empty") }
        return try checker.record(line: line, username: name, password: password, totpSecret: secret, mfa: nil)
    }

    /// The next line that starts an entry (skipping blank lines and comments).
    private func nextEntryLine() throws -> (Int, [UInt8])? {
        while let (number, line) = try nextLine() {
            if Self.isBlankOrComment(line) { continue }
            guard !Self.isIndented(line) else {
                throw ImportError(.syntax, line: number, "an indented line outside an entry (reply items follow a user name)")
            }
            return (number, line)
        }
        return nil
    }

    private func nextLine() throws -> (Int, [UInt8])? {
        if let pending {
            self.pending = nil
            return pending
        }
        bytes.removeAll(keepingCapacity: true)
        var sawAnything = false
        while let byte = try source.next() {
            sawAnything = true
            if byte == UInt8(ascii: "\n") { break }
            bytes.append(byte)
        }
        guard sawAnything else { return nil }
        lineNumber += 1
        if bytes.last == UInt8(ascii: "\r") { bytes.removeLast() }
        return (lineNumber, bytes)
    }

    private static func isIndented(_ line: [UInt8]) -> Bool {
        line.first == UInt8(ascii: " ") || line.first == UInt8(ascii: "\t")
    }

    private static func isBlankOrComment(_ line: [UInt8]) -> Bool {
        guard let first = line.first(where: { $0 != UInt8(ascii: " ") && $0 != UInt8(ascii: "\t") }) else { return true }
        return first == UInt8(ascii: "#")
    }

    /// Tokens on one line: a word (bare or quoted) and `Attribute op value` items separated by commas.
    struct Cursor {
        let bytes: [UInt8]
        let line: Int
        var index = 0

        init(bytes: [UInt8], line: Int) {
            self.bytes = bytes
            self.line = line
        }

        /// A bare word up to white space, or a quoted string.
        mutating func word() throws -> String {
            skipSpace()
            if index < bytes.count, bytes[index] == UInt8(ascii: "\"") || bytes[index] == UInt8(ascii: "'") {
                return try quoted()
            }
            return try take { !Self.isSpace($0) }
        }

        /// Items up to the end of the line or a comment; a trailing comma (more on the next line) is allowed.
        mutating func items() throws -> [Item] {
            var items: [Item] = []
            while true {
                skipSpace()
                guard index < bytes.count, bytes[index] != UInt8(ascii: "#") else { return items }
                let attribute = try take { !Self.isSpace($0) && !Self.isOperator($0) && $0 != UInt8(ascii: ",") }
                skipSpace()
                let op = try take(Self.isOperator)
                guard !attribute.isEmpty, !op.isEmpty else {
                    throw ImportError(.syntax, line: line, "expected Attribute op value, as in Cleartext-Password := \"…\"")
                }
                skipSpace()
                let value: String
                if index < bytes.count, bytes[index] == UInt8(ascii: "\"") || bytes[index] == UInt8(ascii: "'") {
                    value = try quoted()
                } else {
                    value = try take { !Self.isSpace($0) && $0 != UInt8(ascii: ",") && $0 != UInt8(ascii: "#") }
                }
                items.append(Item(attribute: attribute, op: op, value: value))
                skipSpace()
                guard index < bytes.count, bytes[index] != UInt8(ascii: "#") else { return items }
                guard bytes[index] == UInt8(ascii: ",") else {
                    throw ImportError(.syntax, line: line, "expected a comma between items")
                }
                index += 1
            }
        }

        private mutating func quoted() throws -> String {
            let quote = bytes[index]
            index += 1
            var out: [UInt8] = []
            while index < bytes.count {
                let byte = bytes[index]
                index += 1
                if byte == quote { return try Self.text(out, line: line) }
                if byte == UInt8(ascii: "\\"), index < bytes.count {
                    let escaped = bytes[index]
                    index += 1
                    switch escaped {
                    case UInt8(ascii: "n"): out.append(0x0A)
                    case UInt8(ascii: "r"): out.append(0x0D)
                    case UInt8(ascii: "t"): out.append(0x09)
                    default: out.append(escaped)
                    }
                } else {
                    out.append(byte)
                }
            }
            throw ImportError(.syntax, line: line, "a quoted string is not closed")
        }

        private mutating func take(_ accept: (UInt8) -> Bool) throws -> String {
            let start = index
            while index < bytes.count, accept(bytes[index]) { index += 1 }
            return try Self.text(Array(bytes[start..<index]), line: line)
        }

        private mutating func skipSpace() {
            while index < bytes.count, Self.isSpace(bytes[index]) { index += 1 }
        }

        private static func text(_ bytes: [UInt8], line: Int) throws -> String {
            guard let text = String(validating: bytes, as: UTF8.self) else {
                throw ImportError(.syntax, line: line, "not UTF-8 text")
            }
            return text
        }

        private static func isSpace(_ byte: UInt8) -> Bool { byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") }

        private static func isOperator(_ byte: UInt8) -> Bool {
            switch byte {
            case UInt8(ascii: "="), UInt8(ascii: ":"), UInt8(ascii: "!"), UInt8(ascii: "<"), UInt8(ascii: ">"),
                UInt8(ascii: "~"), UInt8(ascii: "+"), UInt8(ascii: "*"):
                true
            default:
                false
            }
        }
    }
}
