/// Where a value stands in the configuration file, for errors found after the TOML is read (an attribute the RADIUS
/// dictionary does not know).
public struct ConfigurationLocation: Sendable, Equatable {
    public var file: String?
    public var line: Int?

    public init(file: String? = nil, line: Int? = nil) {
        self.file = file
        self.line = line
    }
}

/// One `[[radius.reply]]`: attributes every matching Access-Accept carries.
public struct RADIUSReplyRule: Sendable, Equatable {
    /// One `Name = value` of `attributes`, in FreeRADIUS's syntax, with its place in the file.
    public struct Assignment: Sendable, Equatable {
        public var text: String
        /// `radius.reply[1].attributes[0]`.
        public var key: String
        public var location: ConfigurationLocation

        public init(text: String, key: String, location: ConfigurationLocation = ConfigurationLocation()) {
            self.text = text
            self.key = key
            self.location = location
        }
    }

    /// `group`: only for members (local or directory groups); nil: every user.
    public var group: String?
    /// `client`: only for this `[[radius.clients]]` name; nil: every client.
    public var client: String?
    public var attributes: [Assignment]

    public init(group: String? = nil, client: String? = nil, attributes: [Assignment]) {
        self.group = group
        self.client = client
        self.attributes = attributes
    }
}

extension RADIUSReplyRule {
    static let allowedKeys = ["group", "client", "attributes"]

    init(reading reader: TableReader) throws(ConfigurationError) {
        let attributes = try reader.required(reader.strings("attributes"), "attributes")
        self.init(
            group: try reader.string("group"), client: try reader.string("client"),
            attributes: attributes.map { Assignment(text: $0.value, key: $0.key) })
    }

    /// Called by `CountersignConfiguration.validate()`: what can be checked without the dictionary.
    func validate(index: Int, clients: [RADIUSClientSettings]) throws(ConfigurationError) {
        let key = "radius.reply[\(index)]"
        if attributes.isEmpty { throw .invalid("\(key).attributes", "at least one attribute is required") }
        if let group, group.isEmpty { throw .invalid("\(key).group", "must not be empty") }
        if let client, !clients.contains(where: { $0.name == client }) {
            throw .invalid("\(key).client", "no [[radius.clients]] entry is named \"\(client)\"")
        }
        for assignment in attributes where !assignment.text.contains("=") {
            throw ConfigurationError(
                code: .invalidValue, key: assignment.key,
                message: "expected Name = value (e.g. 'Class = \"OU=admins;\"'), got \"\(assignment.text)\"",
                file: assignment.location.file, line: assignment.location.line)
        }
    }
}

extension [RADIUSReplyRule] {
    /// Each assignment's line: found in the file's text, the n-th `[[radius.reply]]` header first, then the first
    /// line after it that holds the assignment's text. TOML's parser keeps no positions for values.
    func located(in text: String, file: String?) -> [RADIUSReplyRule] {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        let headers = lines.indices.filter {
            lines[$0].drop(while: { $0 == " " || $0 == "\t" }).hasPrefix("[[radius.reply]]")
        }
        return enumerated().map { index, rule in
            var rule = rule
            let start = index < headers.count ? headers[index] : 0
            for position in rule.attributes.indices {
                let needle = rule.attributes[position].text
                let line = lines[start...].firstIndex { $0.contains(needle) }
                rule.attributes[position].location = ConfigurationLocation(file: file, line: line.map { $0 + 1 })
            }
            return rule
        }
    }
}
