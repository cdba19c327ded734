import TOMLKit

/// Reads one TOML table for the model: typed getters for known keys, and every other key is an error.
///
/// Adding a section later means writing a type that conforms to `ConfigurationSection` and listing it in
/// `CountersignConfiguration`; the reader takes care of unknown keys, types and key names in errors.
///
/// Errors a getter can read past (an unknown key, a value of the wrong type, out of range or malformed) go to
/// `issues` and the value reads as absent, so that one pass finds them all (`countersign config check`); the
/// first of them is the one a strict load reports.
struct TableReader {
    let table: TOMLTable
    /// Dotted path of this table, e.g. `radius.clients[0]`; empty for the document root.
    let path: String
    let issues: ConfigurationIssues

    /// Reports every key not in `allowedKeys`, in sorted order so that errors are reproducible. Unknown keys come
    /// first because a typo usually explains the "missing key" error that would follow.
    init(_ table: TOMLTable, path: String, allowedKeys: [String], issues: ConfigurationIssues) {
        self.table = table
        self.path = path
        self.issues = issues
        let allowed = Set(allowedKeys)
        for key in table.keys.sorted() where !allowed.contains(key) {
            issues.report(.unknownKey(Self.join(path, key), allowed: allowedKeys))
        }
    }

    static func join(_ path: String, _ key: String) -> String {
        path.isEmpty ? key : "\(path).\(key)"
    }

    func key(_ name: String) -> String { Self.join(path, name) }

    // MARK: Scalars

    func string(_ name: String) throws(ConfigurationError) -> String? {
        guard let value = table[name] else { return nil }
        return string(value, key: key(name))
    }

    func integer(_ name: String) throws(ConfigurationError) -> Int? {
        guard let value = table[name] else { return nil }
        guard let int = value.int else { return issues.absent(.wrongType(key(name), expected: "an integer", got: Self.typeName(value))) }
        return int
    }

    /// An integer that must lie in `range`; TOML integers are 64-bit, so huge values are caught here too.
    func integer(_ name: String, in range: ClosedRange<Int>) throws(ConfigurationError) -> Int? {
        guard let int = try integer(name) else { return nil }
        guard range.contains(int) else { return issues.absent(.outOfRange(key(name), int, range)) }
        return int
    }

    /// A number of seconds, whole or with a fraction, that must lie in `range`.
    func seconds(_ name: String, in range: ClosedRange<Double>) throws(ConfigurationError) -> Double? {
        guard let value = table[name] else { return nil }
        guard let seconds = value.double ?? value.int.map(Double.init) else {
            return issues.absent(.wrongType(key(name), expected: "a number of seconds", got: Self.typeName(value)))
        }
        guard range.contains(seconds) else { return issues.absent(.outOfRange(key(name), seconds, range)) }
        return seconds
    }

    func bool(_ name: String) throws(ConfigurationError) -> Bool? {
        guard let value = table[name] else { return nil }
        guard let bool = value.bool else { return issues.absent(.wrongType(key(name), expected: "a boolean", got: Self.typeName(value))) }
        return bool
    }

    /// A string that must be one of the enum's raw values.
    func choice<E: RawRepresentable & CaseIterable>(_ name: String, as type: E.Type = E.self) throws(ConfigurationError) -> E?
    where E.RawValue == String {
        guard let raw = try string(name) else { return nil }
        guard let value = E(rawValue: raw) else {
            let options = E.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", ")
            return issues.absent(.invalid(key(name), "expected one of \(options), got \"\(raw)\""))
        }
        return value
    }

    /// Throws when absent: the section cannot be read without it. A value reported bad already is not reported
    /// again as missing.
    func required<T>(_ value: T?, _ name: String) throws(ConfigurationError) -> T {
        guard let value else { throw .missing(key(name)) }
        return value
    }

    /// A `host:port` address; a malformed one is reported under `name` and reads as absent.
    func listenAddress(_ name: String) throws(ConfigurationError) -> ListenAddress? {
        guard let text = try string(name) else { return nil }
        return Self.listenAddress(text, key: key(name), issues: issues)
    }

    /// A list of `host:port` addresses; malformed ones are reported under their index and left out.
    func listenAddresses(_ name: String) throws(ConfigurationError) -> [ListenAddress]? {
        try strings(name)?.compactMap { Self.listenAddress($0.value, key: $0.key, issues: issues) }
    }

    private static func listenAddress(_ text: String, key: String, issues: ConfigurationIssues) -> ListenAddress? {
        switch ListenAddress.parse(text) {
        case .success(let address): return address
        case .failure(var error):
            error.key = key
            return issues.absent(error)
        }
    }

    // MARK: Arrays and tables

    /// A list of strings; element errors name the index, e.g. `radius.listen[1]`.
    func strings(_ name: String) throws(ConfigurationError) -> [(key: String, value: String)]? {
        guard let array = try array(name) else { return nil }
        var result: [(key: String, value: String)] = []
        for (index, element) in array.enumerated() {
            let elementKey = "\(key(name))[\(index)]"
            if let string = string(element, key: elementKey) { result.append((elementKey, string)) }
        }
        return result
    }

    func array(_ name: String) throws(ConfigurationError) -> TOMLArray? {
        guard let value = table[name] else { return nil }
        guard let array = value.array else { return issues.absent(.wrongType(key(name), expected: "an array", got: Self.typeName(value))) }
        return array
    }

    /// An array of tables (`[[name]]`), each wrapped in its own reader.
    func tables(_ name: String, allowedKeys: [String]) throws(ConfigurationError) -> [TableReader]? {
        guard let value = table[name] else { return nil }
        guard let array = value.array else {
            return issues.absent(.wrongType(key(name), expected: "an array of tables ([[\(key(name))]])", got: Self.typeName(value)))
        }
        var readers: [TableReader] = []
        for (index, element) in array.enumerated() {
            let elementKey = "\(key(name))[\(index)]"
            guard let table = element.table else {
                issues.report(.wrongType(elementKey, expected: "a table", got: Self.typeName(element)))
                continue
            }
            readers.append(TableReader(table, path: elementKey, allowedKeys: allowedKeys, issues: issues))
        }
        return readers
    }

    /// An inline table of strings (`headers = { "X-Token" = "…" }`), any keys.
    func stringTable(_ name: String) throws(ConfigurationError) -> [String: String]? {
        guard let value = table[name] else { return nil }
        guard let nested = value.table else { return issues.absent(.wrongType(key(name), expected: "a table", got: Self.typeName(value))) }
        var result: [String: String] = [:]
        for entry in nested.keys.sorted() {
            if let string = string(nested[entry]!, key: "\(key(name)).\(entry)") { result[entry] = string }
        }
        return result
    }

    /// Reads a section; an absent section is read from an empty table so defaults and required keys behave the same.
    func section<S: ConfigurationSection>(_ type: S.Type) throws(ConfigurationError) -> S {
        try S(reading: table(S.tableName, allowedKeys: S.allowedKeys))
    }

    /// A nested table (`[push.limit]` read from the `push` reader); absent means empty, as for sections.
    func table(_ name: String, allowedKeys: [String]) throws(ConfigurationError) -> TableReader {
        var table = TOMLTable()
        if let value = self.table[name] {
            if let found = value.table {
                table = found
            } else {
                issues.report(.wrongType(key(name), expected: "a table", got: Self.typeName(value)))
            }
        }
        return TableReader(table, path: key(name), allowedKeys: allowedKeys, issues: issues)
    }

    // MARK: Helpers

    private func string(_ value: TOMLValueConvertible, key: String) -> String? {
        guard let string = value.string else { return issues.absent(.wrongType(key, expected: "a string", got: Self.typeName(value))) }
        return string
    }

    static func typeName(_ value: TOMLValueConvertible) -> String {
        switch value.type {
        case .table: "a table"
        case .array: "an array"
        case .string: "a string"
        case .int: "an integer"
        case .double: "a floating-point number"
        case .bool: "a boolean"
        case .date: "a date"
        case .time: "a time"
        case .dateTime: "a date-time"
        }
    }
}

/// The errors found in one reading of a document, in the order found.
final class ConfigurationIssues {
    private(set) var errors: [ConfigurationError] = []

    /// One error per value: a bad value read as absent is not reported again as missing, nor a list or table
    /// again as a whole (`radius.listen` after `radius.listen[0]`).
    func report(_ error: ConfigurationError) {
        if let key = error.key, errors.contains(where: { $0.key.map { Self.key($0, isWithin: key) } ?? false }) { return }
        errors.append(error)
    }

    private static func key(_ reported: String, isWithin key: String) -> Bool {
        reported == key || reported.hasPrefix(key + "[") || reported.hasPrefix(key + ".")
    }

    /// Reports `error`; nil, for the getter to return.
    func absent<T>(_ error: ConfigurationError) -> T? {
        report(error)
        return nil
    }
}

/// A top-level table of the configuration file, e.g. `[radius]`.
protocol ConfigurationSection {
    /// The table's key at the top level, e.g. `radius`.
    static var tableName: String { get }
    /// Every key the section understands; anything else is reported as unknown.
    static var allowedKeys: [String] { get }
    init(reading reader: TableReader) throws(ConfigurationError)
}
