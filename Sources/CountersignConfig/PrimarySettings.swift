/// Where RADIUS passwords are checked: `[primary]`.
///
/// With `source = "ldap"` the password is checked by binding to `[ldap.upstream]`, in one of two modes:
/// bind mode (`bind_dn_template`) builds the user's DN directly; search mode (`search_base`, `service_dn`,
/// `service_password`) binds as a service account, looks the user's entry up, then binds as that entry.
///
/// With `source = "radius"` the password goes to the servers of `[[primary.radius]]` in an Access-Request of
/// Countersign's own; `pass_through` picks what of their Access-Accept goes on Countersign's.
public struct PrimarySettings: Sendable, Equatable {
    /// `primary.source`, default `.local`.
    public var source: PrimarySource
    /// `primary.bind_dn_template`, default none, e.g. `uid={user},ou=people,dc=example,dc=org`:
    /// bind mode. Must contain `{user}`, which stands for the user name.
    public var bindDNTemplate: String?
    /// `primary.search_base`, default none: search mode, the subtree searched for the user's entry.
    public var searchBase: String?
    /// `primary.search_attribute`, default `uid`: search mode, the attribute compared with the user name.
    /// Letters, digits and `-`, starting with a letter.
    public var searchAttribute: String
    /// `primary.service_dn`, default none: search mode, the account the search binds as.
    public var serviceDN: String?
    /// `primary.service_password`, default none: search mode, `service_dn`'s password. A secret: errors never
    /// contain it. Must not be empty (an empty password makes an unauthenticated bind).
    public var servicePassword: String?
    /// `primary.group_attribute`, e.g. `memberOf`: the user's entry lists the DNs of its groups in this attribute;
    /// a group is known by the value of the first RDN of each (`cn=vpn-admins,ou=groups,…` → `vpn-admins`).
    public var groupAttribute: String?
    /// `primary.group_search_base`: the groups are the entries a search under it finds with `group_search_filter`.
    public var groupSearchBase: String?
    /// `primary.group_search_filter`, default `(member={dn})`: RFC 4515 with `{dn}` (the user's DN) and `{user}`.
    public var groupSearchFilter: String
    /// `[[primary.radius]]`, default none: the upstream RADIUS servers, asked in order. Required with
    /// `source = "radius"`.
    public var radius: [UpstreamRADIUSSettings]
    /// `primary.pass_through`, default none: `"all"` or a list of attribute names of the dictionary. Only with
    /// `source = "radius"`; the names are checked against the dictionary when the gateway starts.
    public var passThrough: PassThroughSelection

    /// Replaced by the user name in `bindDNTemplate`.
    public static let userPlaceholder = "{user}"
    public static let defaultSearchAttribute = "uid"
    public static let defaultGroupSearchFilter = "(member={dn})"

    public init(
        source: PrimarySource = .local,
        bindDNTemplate: String? = nil,
        searchBase: String? = nil,
        searchAttribute: String = PrimarySettings.defaultSearchAttribute,
        serviceDN: String? = nil,
        servicePassword: String? = nil,
        groupAttribute: String? = nil,
        groupSearchBase: String? = nil,
        groupSearchFilter: String = PrimarySettings.defaultGroupSearchFilter,
        radius: [UpstreamRADIUSSettings] = [],
        passThrough: PassThroughSelection = .named([])
    ) {
        self.groupAttribute = groupAttribute
        self.groupSearchBase = groupSearchBase
        self.groupSearchFilter = groupSearchFilter
        self.source = source
        self.bindDNTemplate = bindDNTemplate
        self.searchBase = searchBase
        self.searchAttribute = searchAttribute
        self.serviceDN = serviceDN
        self.servicePassword = servicePassword
        self.radius = radius
        self.passThrough = passThrough
    }
}

/// `primary.source`: what checks the password.
public enum PrimarySource: String, Sendable, Equatable, CaseIterable {
    /// The password hashes in the store; the default.
    case local
    /// A bind to the directory in `[ldap.upstream]`.
    case ldap
    /// An Access-Request to the servers of `[[primary.radius]]`.
    case radius
}

extension PrimarySettings: ConfigurationSection {
    static let tableName = "primary"
    static let allowedKeys = [
        "source", "bind_dn_template", "search_base", "search_attribute", "service_dn", "service_password",
        "group_attribute", "group_search_base", "group_search_filter", "radius", "pass_through",
    ]

    init(reading reader: TableReader) throws(ConfigurationError) {
        self.init(
            source: try reader.choice("source") ?? .local,
            bindDNTemplate: try reader.string("bind_dn_template"),
            searchBase: try reader.string("search_base"),
            searchAttribute: try reader.string("search_attribute") ?? Self.defaultSearchAttribute,
            serviceDN: try reader.string("service_dn"),
            servicePassword: try reader.string("service_password"),
            groupAttribute: try reader.string("group_attribute"),
            groupSearchBase: try reader.string("group_search_base"),
            groupSearchFilter: try reader.string("group_search_filter") ?? Self.defaultGroupSearchFilter,
            radius: try (reader.tables("radius", allowedKeys: UpstreamRADIUSSettings.allowedKeys) ?? []).map {
                (server) throws(ConfigurationError) in try UpstreamRADIUSSettings(reading: server)
            },
            passThrough: try Self.passThrough(reader))
    }

    /// `"all"`, or a list of names.
    private static func passThrough(_ reader: TableReader) throws(ConfigurationError) -> PassThroughSelection {
        guard let value = reader.table["pass_through"] else { return .named([]) }
        if let word = value.string {
            guard word == "all" else {
                return reader.issues.absent(.invalid(reader.key("pass_through"), "expected \"all\" or a list of attribute names, got \"\(word)\"")) ?? .named([])
            }
            return .all
        }
        return .named(try reader.strings("pass_through")?.map(\.value) ?? [])
    }

    func resolved(against baseDirectory: String) -> PrimarySettings {
        var settings = self
        for index in settings.radius.indices {
            settings.radius[index].secretFile = PathResolver.absoluteIfSet(settings.radius[index].secretFile, base: baseDirectory)
        }
        return settings
    }

    /// Called by `CountersignConfiguration.validate()`. What is set is always checked; what is required only
    /// with `source = "ldap"`.
    func validate(ldap: LDAPSettings) throws(ConfigurationError) {
        if let bindDNTemplate, !bindDNTemplate.contains(Self.userPlaceholder) {
            throw .invalid(
                "primary.bind_dn_template", "must contain \"\(Self.userPlaceholder)\", got \"\(bindDNTemplate)\"")
        }
        if searchBase?.allSatisfy(\.isWhitespace) == true { throw .invalid("primary.search_base", "must not be empty") }
        if !LDAPSettings.isAttributeName(searchAttribute) {
            throw .invalid(
                "primary.search_attribute",
                "must be an attribute name (letters, digits and \"-\", starting with a letter), got \"\(searchAttribute)\"")
        }
        if serviceDN?.allSatisfy(\.isWhitespace) == true { throw .invalid("primary.service_dn", "must not be empty") }
        // The value itself is never repeated: errors end up in logs.
        if servicePassword?.isEmpty == true {
            throw .invalid("primary.service_password", "must not be empty (an empty password makes an unauthenticated bind)")
        }

        let searchKeys = [("search_base", searchBase), ("service_dn", serviceDN), ("service_password", servicePassword)]
        let searchKeysSet = searchKeys.filter { $0.1 != nil }.map(\.0)
        if bindDNTemplate != nil, let first = searchKeysSet.first {
            throw .invalid(
                "primary.bind_dn_template",
                "cannot be combined with primary.\(first): use either bind_dn_template, "
                    + "or search_base with service_dn and service_password")
        }

        if let groupAttribute, !LDAPSettings.isAttributeName(groupAttribute) {
            throw .invalid(
                "primary.group_attribute",
                "must be an attribute name (letters, digits and \"-\", starting with a letter), got \"\(groupAttribute)\"")
        }
        if groupSearchBase?.allSatisfy(\.isWhitespace) == true { throw .invalid("primary.group_search_base", "must not be empty") }
        if groupAttribute != nil, groupSearchBase != nil {
            throw .invalid("primary.group_attribute", "cannot be combined with primary.group_search_base: use one of them")
        }
        if groupAttribute != nil || groupSearchBase != nil, source != .ldap {
            throw .invalid(
                groupAttribute != nil ? "primary.group_attribute" : "primary.group_search_base",
                "directory groups need primary.source = \"ldap\"")
        }

        try validateRADIUS()
        guard source == .ldap else { return }
        if ldap.upstream.url == nil {
            throw ConfigurationError(
                code: .missingKey, key: "ldap.upstream.url",
                message: "required when primary.source = \"ldap\" (the directory passwords are checked against)")
        }
        if bindDNTemplate != nil { return }
        guard let first = searchKeysSet.first else {
            throw ConfigurationError(
                code: .missingKey, key: "primary.bind_dn_template",
                message: "primary.source = \"ldap\" requires either bind_dn_template, "
                    + "or search_base with service_dn and service_password")
        }
        for (name, value) in searchKeys where value == nil {
            throw ConfigurationError(
                code: .missingKey, key: "primary.\(name)",
                message: "required with primary.\(first) (search mode needs search_base, service_dn and service_password)")
        }
    }

    /// Every `[[primary.radius]]` entry is checked; servers and `pass_through` are required or refused by `source`.
    private func validateRADIUS() throws(ConfigurationError) {
        for (index, server) in radius.enumerated() { try server.validate(key: "primary.radius[\(index)]") }
        // A challenge's state names its server in one octet.
        if radius.count > 256 { throw .invalid("primary.radius", "at most 256 servers, got \(radius.count)") }
        if source == .radius, radius.isEmpty {
            throw ConfigurationError(
                code: .missingKey, key: "primary.radius",
                message: "primary.source = \"radius\" requires at least one server (add a [[primary.radius]] table)")
        }
        if source != .radius, !radius.isEmpty {
            throw .invalid("primary.radius", "only used with primary.source = \"radius\"")
        }
        if source != .radius, passThrough != .named([]) {
            throw .invalid("primary.pass_through", "only used with primary.source = \"radius\"")
        }
        guard case .named(let names) = passThrough else { return }
        for (index, name) in names.enumerated() {
            if name.isEmpty { throw .invalid("primary.pass_through[\(index)]", "must not be empty") }
            if let never = PassThroughSelection.neverPassed.first(where: { $0.lowercased() == name.lowercased() }) {
                throw .invalid("primary.pass_through[\(index)]", "\(never) belongs to one exchange and is never passed through")
            }
        }
    }
}
