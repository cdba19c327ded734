import HTTPTypes

/// Cross-site request forgery's first line: a state-changing request must come from a page of this origin. Browsers
/// send `Sec-Fetch-Site` (Fetch Metadata) and, on every POST, `Origin`; a request with neither (or with `Origin: null`
/// and no `Sec-Fetch-Site`) is no browser's form of this origin and is refused (the CSRF token is the second line).
public struct RequestOrigin: Sendable, Equatable {
    /// `https://host:port` origins a form may be posted from: `http.public_url`'s, and the one the request names
    /// (its Host header with the listener's scheme), so that a gateway reached by another name still works.
    let allowed: Set<String>

    public init(publicURL: String) {
        allowed = Self.origin(of: publicURL).map { [$0] } ?? []
    }

    public static func origin(of url: String) -> String? {
        guard let schemeEnd = url.range(of: "://") else { return nil }
        let rest = url[schemeEnd.upperBound...]
        let authority = rest.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        guard !authority.isEmpty else { return nil }
        return url[..<schemeEnd.upperBound].lowercased() + authority.lowercased()
    }

    /// Whether a POST with these headers may change anything; `authority` is its Host (HTTPTypes keeps it apart from
    /// the headers), `tls` how the request arrived.
    public func isSameOrigin(_ headers: HTTPFields, authority: String?, tls: Bool) -> Bool {
        let site = headers[Self.secFetchSite]
        if let site, site != "same-origin" { return false }
        // Under `Referrer-Policy: no-referrer` a browser's form POST says `Origin: null` (Fetch, "serializing a request
        // origin"): then `Sec-Fetch-Site` alone speaks for it.
        guard let origin = headers[.origin], origin != "null" else { return site != nil }
        var accepted = allowed
        if let authority { accepted.insert((tls ? "https://" : "http://") + authority.lowercased()) }
        return accepted.contains(origin.lowercased())
    }

    static let secFetchSite = HTTPField.Name("Sec-Fetch-Site")!
}
