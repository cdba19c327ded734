/// CSV per RFC 4180: a header row naming the columns (`username` required; `password`, `totp_secret`, `mfa`,
/// `groups`), fields in double quotes when they hold a comma, a quote (doubled) or a line break; CRLF or LF. Blank
/// lines are skipped. A record's line is the line it starts on, counting the header as line 1.
public final class CSVUserReader: UserRecordReader {
    private let source: ByteSource
    private var checker = RecordChecker()
    /// The line the next record starts on.
    private var line = 1
    /// For each column, the field it is, in header order.
    private var columns: [ImportField] = []
    private var fields: [String] = []
    private var field: [UInt8] = []

    public var warnings: [ImportWarning] { checker.warnings.all }
    public var bytesRead: Int { source.bytesRead }
    public var totalBytes: Int? { source.totalBytes }

    public init(_ source: ByteSource) throws {
        self.source = source
        try skipByteOrderMark()
        guard let header = try readRecord() else { throw ImportError(.missingColumn, line: 1, "the file is empty; a header row is needed") }
        for name in header.fields {
            let trimmed = name.trimmingSpaces()
            guard let column = ImportField(rawValue: trimmed) else {
                throw ImportError(.unknownColumn, line: header.line, "unknown column \"\(trimmed)\" (known: \(ImportField.known))")
            }
            guard !columns.contains(column) else {
                throw ImportError(.unknownColumn, line: header.line, "column \"\(trimmed)\" appears twice")
            }
            columns.append(column)
        }
        guard columns.contains(.username) else {
            throw ImportError(.missingColumn, line: header.line, "no username column (columns: \(ImportField.known))")
        }
    }

    public func next() throws -> ImportRecord? {
        guard let record = try readRecord() else { return nil }
        guard record.fields.count == columns.count else {
            throw ImportError(
                .syntax, line: record.line, "\(record.fields.count) fields where the header has \(columns.count)")
        }
        func value(_ field: ImportField) -> String? { columns.firstIndex(of: field).map { record.fields[$0] } }
        return try checker.record(
            line: record.line, username: value(.username) ?? "", password: value(.password),
            totpSecret: value(.totpSecret), mfa: value(.mfa), groups: value(.groups).map(GroupsField.separated))
    }

    private func skipByteOrderMark() throws {
        guard try source.peek() == 0xEF else { return }
        for expected: UInt8 in [0xEF, 0xBB, 0xBF] {
            guard try source.next() == expected else { throw ImportError(.syntax, line: 1, "not UTF-8 text") }
        }
    }

    /// The next non-blank record's fields and first line, or nil at the end.
    private func readRecord() throws -> (fields: [String], line: Int)? {
        while true {
            let start = line
            fields.removeAll(keepingCapacity: true)
            field.removeAll(keepingCapacity: true)
            var quoted = false  // inside a quoted field
            var closed = false  // after the current field's closing quote
            var sawAnything = false
            record: while true {
                guard let byte = try source.next() else {
                    if quoted { throw ImportError(.syntax, line: start, "a quoted field is not closed") }
                    if !sawAnything { return nil }
                    break record  // the end of the file ends the last record
                }
                sawAnything = true
                if quoted {
                    if byte == UInt8(ascii: "\"") {
                        if try source.peek() == UInt8(ascii: "\"") {
                            _ = try source.next()
                            field.append(byte)
                        } else {
                            quoted = false
                            closed = true
                        }
                    } else {
                        if byte == UInt8(ascii: "\n") { line += 1 }
                        field.append(byte)
                    }
                    continue
                }
                switch byte {
                case UInt8(ascii: ","):
                    try endField()
                    closed = false
                case UInt8(ascii: "\r"):
                    guard try source.peek() == UInt8(ascii: "\n") else {
                        throw ImportError(.syntax, line: line, "a carriage return outside quotes")
                    }
                case UInt8(ascii: "\n"):
                    line += 1
                    break record
                case UInt8(ascii: "\""):
                    guard field.isEmpty && !closed else {
                        throw ImportError(.syntax, line: line, "a quote inside an unquoted field (quote the whole field)")
                    }
                    quoted = true
                default:
                    guard !closed else { throw ImportError(.syntax, line: line, "text after a closing quote") }
                    field.append(byte)
                }
            }
            try endField()
            // A blank line is one empty, unquoted field: skipped.
            if fields.count == 1 && fields[0].isEmpty && !closed { continue }
            return (fields, start)
        }
    }

    private func endField() throws {
        guard let text = String(validating: field, as: UTF8.self) else {
            throw ImportError(.syntax, line: line, "not UTF-8 text")
        }
        fields.append(text)
        field.removeAll(keepingCapacity: true)
    }
}

extension String {
    func trimmingSpaces() -> String {
        let trimmed = self.drop(while: { $0 == " " || $0 == "\t" })
        return String(trimmed.reversed().drop(while: { $0 == " " || $0 == "\t" }).reversed())
    }
}
