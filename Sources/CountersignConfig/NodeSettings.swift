import Foundation

/// This gateway among several on one store: `[node]`.
public struct NodeSettings: Sendable, Equatable {
    /// `node.name`, default the host name: written into every audit event this node (or its CLI) makes.
    public var name: String

    public init(name: String = NodeSettings.defaultName) {
        self.name = name
    }

    public static var defaultName: String { ProcessInfo.processInfo.hostName }
}

extension NodeSettings: ConfigurationSection {
    static let tableName = "node"
    static let allowedKeys = ["name"]

    init(reading reader: TableReader) throws(ConfigurationError) {
        self.init(name: try reader.string("name") ?? Self.defaultName)
    }

    func validate() throws(ConfigurationError) {
        guard !name.isEmpty, name.count <= 64, name.allSatisfy({ $0.isLetter || $0.isNumber || "-_.".contains($0) }) else {
            throw ConfigurationError(
                code: .invalidValue, key: "node.name", message: "must be 1–64 letters, digits, '-', '_' or '.', got \"\(name)\"")
        }
    }
}
