/// The rule every user name follows, shared by the store and the import's line-by-line checks.
public enum UserName {
    /// RFC 2865 §5.1: User-Name is at most 253 octets; control characters have no place in a name.
    public static func isValid(_ name: String) -> Bool {
        (1...253).contains(name.utf8.count)
            && !name.unicodeScalars.contains(where: { $0.properties.generalCategory == .control })
    }

    public static let rule = "a user name is 1 to 253 UTF-8 octets without control characters"
}
