/// A bad import file: what is wrong and on which line, so that the operator can fix that line. Equal by code.
public struct ImportError: Error, Equatable, CustomStringConvertible, Sendable {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        public var description: String { name }
        public static let emptyName = Code(name: "emptyName")
        public static let invalidName = Code(name: "invalidName")
        public static let invalidGroupName = Code(name: "invalidGroupName")
        public static let duplicateName = Code(name: "duplicateName")
        public static let badSecret = Code(name: "badSecret")
        public static let weakSecret = Code(name: "weakSecret")
        public static let unknownColumn = Code(name: "unknownColumn")
        public static let missingColumn = Code(name: "missingColumn")
        public static let badValue = Code(name: "badValue")
        public static let syntax = Code(name: "syntax")
        public static let io = Code(name: "io")
    }

    public var code: Code
    /// 1-based; nil when the error is about the whole file.
    public var line: Int?
    public var message: String

    public init(_ code: Code, line: Int?, _ message: String) {
        self.code = code
        self.line = line
        self.message = message
    }

    public var description: String { line.map { "line \($0): \(message)" } ?? message }

    public static func == (lhs: ImportError, rhs: ImportError) -> Bool { lhs.code == rhs.code }
}

/// Something in the file that has no place in Countersign and is skipped: reported once per kind, with how
/// often and where it first appeared.
public struct ImportWarning: Sendable, Equatable, CustomStringConvertible {
    public var kind: String
    public var firstLine: Int
    public var count: Int

    public var description: String {
        "line \(firstLine)\(count > 1 ? " and \(count - 1) more" : ""): \(kind)"
    }
}

/// Warnings in first-seen order, one per kind.
public struct ImportWarnings: Sendable {
    public private(set) var all: [ImportWarning] = []
    private var index: [String: Int] = [:]

    public init() {}

    public mutating func add(_ kind: String, line: Int) {
        if let position = index[kind] {
            all[position].count += 1
        } else {
            index[kind] = all.count
            all.append(ImportWarning(kind: kind, firstLine: line, count: 1))
        }
    }
}
