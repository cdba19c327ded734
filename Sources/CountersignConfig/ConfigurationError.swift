/// An error found while reading or validating the configuration file.
///
/// `code` is stable and meant for programs and tests; `message` is for people and may change wording.
public struct ConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The kind of problem. Raw values are stable and never reused.
    public struct Code: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// The file could not be read.
        public static let fileUnreadable = Code(rawValue: "file-unreadable")
        /// The document is not valid TOML.
        public static let syntax = Code(rawValue: "syntax")
        /// A key the model does not know (typo, or a section not supported yet).
        public static let unknownKey = Code(rawValue: "unknown-key")
        /// A value of the wrong TOML type.
        public static let wrongType = Code(rawValue: "wrong-type")
        /// A required key is absent.
        public static let missingKey = Code(rawValue: "missing-key")
        /// A value of the right type that is not acceptable (bad enum, bad address, empty string).
        public static let invalidValue = Code(rawValue: "invalid-value")
        /// A number outside its allowed range.
        public static let outOfRange = Code(rawValue: "out-of-range")
        /// A value that must be unique appears twice.
        public static let duplicate = Code(rawValue: "duplicate")
    }

    public var code: Code
    /// Dotted key, e.g. `radius.clients[1].mode`; nil for syntax and file errors.
    public var key: String?
    public var message: String
    /// The file involved, for file and syntax errors raised by `load(path:)`.
    public var file: String?
    /// 1-based position reported by the TOML parser, for syntax errors.
    public var line: Int?
    public var column: Int?

    public init(
        code: Code, key: String? = nil, message: String,
        file: String? = nil, line: Int? = nil, column: Int? = nil
    ) {
        self.code = code
        self.key = key
        self.message = message
        self.file = file
        self.line = line
        self.column = column
    }

    /// `<key>: <message>`, or `<file>:<line>:<column>: <message>` for file and syntax errors.
    public var description: String {
        var location: [String] = []
        if let file {
            var place = file
            if let line { place += ":\(line)" }
            if let column { place += ":\(column)" }
            location.append(place)
        } else if let line {
            location.append(column.map { "line \(line), column \($0)" } ?? "line \(line)")
        }
        if let key { location.append(key) }
        return (location + [message]).joined(separator: ": ")
    }
}

/// The errors of one file, at least one, in the order found.
struct ConfigurationErrors: Error {
    var all: [ConfigurationError]

    init(all: [ConfigurationError]) {
        precondition(!all.isEmpty)
        self.all = all
    }

    init(_ error: ConfigurationError) {
        self.init(all: [error])
    }
}

extension Result where Failure == ConfigurationErrors {
    /// The value, or the first error: what a strict load reports.
    func strict() throws(ConfigurationError) -> Success {
        switch self {
        case .success(let value): return value
        case .failure(let errors): throw errors.all[0]
        }
    }
}

extension ConfigurationError {
    static func unknownKey(_ key: String, allowed: [String]) -> ConfigurationError {
        let list = allowed.sorted().map { "`\($0)`" }.joined(separator: ", ")
        let hint = allowed.isEmpty ? "no keys are allowed here" : "allowed keys here: \(list)"
        return ConfigurationError(code: .unknownKey, key: key, message: "unknown key `\(key)` (\(hint))")
    }

    static func wrongType(_ key: String, expected: String, got: String) -> ConfigurationError {
        ConfigurationError(code: .wrongType, key: key, message: "expected \(expected), got \(got)")
    }

    static func missing(_ key: String) -> ConfigurationError {
        ConfigurationError(code: .missingKey, key: key, message: "required key is missing")
    }

    static func invalid(_ key: String, _ message: String) -> ConfigurationError {
        ConfigurationError(code: .invalidValue, key: key, message: message)
    }

    static func outOfRange(_ key: String, _ value: Double, _ range: ClosedRange<Double>) -> ConfigurationError {
        ConfigurationError(
            code: .outOfRange, key: key,
            message: "must be between \(range.lowerBound) and \(range.upperBound), got \(value)")
    }

    static func outOfRange(_ key: String, _ value: Int, _ range: ClosedRange<Int>) -> ConfigurationError {
        ConfigurationError(
            code: .outOfRange, key: key,
            message: "must be between \(range.lowerBound) and \(range.upperBound), got \(value)")
    }
}
