import CountersignConfig
import Foundation
import MFACore
import RADIUSCodec

/// `[[radius.reply]]` encoded once at startup: what an Access-Accept carries for a user's groups and a client.
public struct RADIUSReplyRules: Sendable {
    struct Rule: Sendable {
        var group: String?
        var client: String?
        var attributes: [RADIUSAttribute]
    }

    let rules: [Rule]

    public init() { rules = [] }

    /// Every assignment checked against `dictionary`: an unknown name or a value that does not fit is an error naming
    /// the file, the line and the attribute.
    public init(_ settings: [RADIUSReplyRule], dictionary: RADIUSDictionary) throws(ConfigurationError) {
        var rules: [Rule] = []
        for rule in settings {
            var attributes: [RADIUSAttribute] = []
            for assignment in rule.attributes {
                do {
                    attributes.append(try dictionary.encode(assignment.text))
                } catch {
                    throw ConfigurationError(
                        code: .invalidValue, key: assignment.key, message: "\(error.message) in '\(assignment.text)'",
                        file: assignment.location.file, line: assignment.location.line)
                }
            }
            rules.append(Rule(group: rule.group, client: rule.client, attributes: attributes))
        }
        self.rules = rules
    }

    /// Some rule is for a group's members: then an Accept needs the user's local groups.
    public var namesGroups: Bool { rules.contains { $0.group != nil } }

    /// The grant's attributes (passed through from the primary check), then every matching rule's, in file order.
    public func attributes(for grant: Grant, client: String) -> [RADIUSAttribute] {
        var attributes = grant.attributes.map { RADIUSAttribute(type: RADIUSAttributeType(rawValue: $0.type), value: $0.value) }
        for rule in rules where rule.client.map({ $0 == client }) ?? true && rule.group.map(grant.groups.contains) ?? true {
            attributes += rule.attributes
        }
        return attributes
    }
}

/// The dictionary the reply rules are read with: `radius.dictionary`, else Debian's when installed, else the
/// built-in RFC 2865/2869 attributes.
public enum RADIUSDictionaryFiles {
    public static let debianDictionary = "/usr/share/freeradius/dictionary"

    public static func load(_ path: String?) throws(ConfigurationError) -> RADIUSDictionary {
        guard let file = path ?? (FileManager.default.fileExists(atPath: debianDictionary) ? debianDictionary : nil) else {
            return .builtIn
        }
        do {
            return try RADIUSDictionary.load(file: file) { try String(contentsOfFile: $0, encoding: .utf8) }
        } catch {
            throw ConfigurationError(
                code: .invalidValue, key: path == nil ? nil : "radius.dictionary", message: error.message, file: error.file,
                line: error.line > 0 ? error.line : nil)
        }
    }
}
