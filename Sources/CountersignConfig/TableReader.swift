import TOMLKit

/// Reads one TOML table for the model: typed getters for known keys, and every other key is an error.
///
/// Adding a section later means writing a type that conforms to `ConfigurationSection` and listing it in
/// `CountersignConfiguration`; the reader takes care of unknown keys, types and key names in errors.
struct TableReader {
    let table: TOMLTable
    /// Dotted path of this table, e.g. `radius.clients[0]`; empty for the document root.
    let path: String

    /// Fails on the first key (in sorted order, so errors are reproducible) not in `allowedKeys`.
    /// Unknown keys are checked first because a typo usually explains the "missing key" error that would follow.
    init(_ table: TOMLTable, path: String, allowedKeys: [String]) throws(ConfigurationError) {
        self.table = table
        self.path = path
        let allowed = Set(allowedKeys)
        for key in table.keys.sorted() where !allowed.contains(key) {
            throw .unknownKey(Self.join(path, key), allowed: allowedKeys)
        }
    }

    static func join(_ path: String, _ key: String) -> String {
        path.isEmpty ? key : "\(path).\(key)"
    }

    func key(_ name: String) -> String { Self.join(path, name) }

    // MARK: Scalars

    func string(_ name: String) throws(ConfigurationError) -> String? {
        guard let value = table[name] else { return nil }
        return try Self.string(value, key: key(name))
    }

    func integer(_ name: String) throws(ConfigurationError) -> Int? {
        guard let value = table[name] else { return nil }
        guard let int = value.int else { throw .wrongType(key(name), expected: "an integer", got: Self.typeName(value)) }
        return int
    }

    /// An integer that must lie in `range`; TOML integers are 64-bit, so huge values are caught here too.
    func integer(_ name: String, in range: ClosedRange<Int>) throws(ConfigurationError) -> Int? {
        guard let int = try integer(name) else { return nil }
        guard range.contains(int) else { throw .outOfRange(key(name), int, range) }
        return int
    }

    /// A number of seconds, whole or with a fraction, that must lie in `range`.
    func seconds(_ name: String, in range: ClosedRange<Double>) throws(ConfigurationError) -> Double? {
        guard let value = table[name] else { return nil }
        guard let seconds = value.double ?? value.int.map(Double.init) else {
            throw .wrongType(key(name), expected: "a number of seconds", got: Self.typeName(value))
        }
        guard range.contains(seconds) else { throw .outOfRange(key(name), seconds, range) }
        return seconds
    }

    func bool(_ name: String) throws(ConfigurationError) -> Bool? {
        guard let value = table[name] else { return nil }
        guard let bool = value.bool else { throw .wrongType(key(name), expected: "a boolean", got: Self.typeName(value)) }
        return bool
    }

    /// A string that must be one of the enum's raw values.
    func choice<E: RawRepresentable & CaseIterable>(_ name: String, as type: E.Type = E.self) throws(ConfigurationError) -> E?
    where E.RawValue == String {
        guard let raw = try string(name) else { return nil }
        guard let value = E(rawValue: raw) else {
            let options = E.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", ")
            throw .invalid(key(name), "expected one of \(options), got \"\(raw)\"")
        }
        return value
    }

    func required<T>(_ value: T?, _ name: String) throws(ConfigurationError) -> T {
        guard let value else { throw .missing(key(name)) }
        return value
    }

    // MARK: Arrays and tables

    /// A list of strings; element errors name the index, e.g. `radius.listen[1]`.
    func strings(_ name: String) throws(ConfigurationError) -> [(key: String, value: String)]? {
        guard let array = try array(name) else { return nil }
        var result: [(key: String, value: String)] = []
        for (index, element) in array.enumerated() {
            let elementKey = "\(key(name))[\(index)]"
            result.append((elementKey, try Self.string(element, key: elementKey)))
        }
        return result
    }

    func array(_ name: String) throws(ConfigurationError) -> TOMLArray? {
        guard let value = table[name] else { return nil }
        guard let array = value.array else { throw .wrongType(key(name), expected: "an array", got: Self.typeName(value)) }
        return array
    }

    /// An array of tables (`[[name]]`), each wrapped in its own reader.
    func tables(_ name: String, allowedKeys: [String]) throws(ConfigurationError) -> [TableReader]? {
        guard let value = table[name] else { return nil }
        guard let array = value.array else {
            throw .wrongType(key(name), expected: "an array of tables ([[\(key(name))]])", got: Self.typeName(value))
        }
        var readers: [TableReader] = []
        for (index, element) in array.enumerated() {
            let elementKey = "\(key(name))[\(index)]"
            guard let table = element.table else {
                throw .wrongType(elementKey, expected: "a table", got: Self.typeName(element))
            }
            readers.append(try TableReader(table, path: elementKey, allowedKeys: allowedKeys))
        }
        return readers
    }

    /// An inline table of strings (`headers = { "X-Token" = "…" }`), any keys.
    func stringTable(_ name: String) throws(ConfigurationError) -> [String: String]? {
        guard let value = table[name] else { return nil }
        guard let nested = value.table else { throw .wrongType(key(name), expected: "a table", got: Self.typeName(value)) }
        var result: [String: String] = [:]
        for entry in nested.keys.sorted() {
            result[entry] = try Self.string(nested[entry]!, key: "\(key(name)).\(entry)")
        }
        return result
    }

    /// Reads a section; an absent section is read from an empty table so defaults and required keys behave the same.
    func section<S: ConfigurationSection>(_ type: S.Type) throws(ConfigurationError) -> S {
        try S(reading: table(S.tableName, allowedKeys: S.allowedKeys))
    }

    /// A nested table (`[push.limit]` read from the `push` reader); absent means empty, as for sections.
    func table(_ name: String, allowedKeys: [String]) throws(ConfigurationError) -> TableReader {
        let table: TOMLTable
        if let value = self.table[name] {
            guard let found = value.table else {
                throw .wrongType(key(name), expected: "a table", got: Self.typeName(value))
            }
            table = found
        } else {
            table = TOMLTable()
        }
        return try TableReader(table, path: key(name), allowedKeys: allowedKeys)
    }

    // MARK: Helpers

    private static func string(_ value: TOMLValueConvertible, key: String) throws(ConfigurationError) -> String {
        guard let string = value.string else { throw .wrongType(key, expected: "a string", got: typeName(value)) }
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

/// A top-level table of the configuration file, e.g. `[radius]`.
protocol ConfigurationSection {
    /// The table's key at the top level, e.g. `radius`.
    static var tableName: String { get }
    /// Every key the section understands; anything else is reported as unknown.
    static var allowedKeys: [String] { get }
    init(reading reader: TableReader) throws(ConfigurationError)
}
