import Foundation
import Hummingbird

/// The two checks every state-changing request of the console and the portal passes.
extension WebSessionSigner {
    /// The fields of a posted form; with a session, its CSRF token must be among them.
    func postedForm(_ request: Request, session: WebSession?) async throws -> FormFields {
        var request = request
        let fields = FormFields(String(buffer: try await request.collectBody(upTo: 64 * 1024)))
        if let session, !isValidCSRFToken(fields["csrf"], for: session) {
            throw HTTPError(.forbidden, message: "The form has expired: reload the page and try again.")
        }
        return fields
    }
}

extension RequestOrigin {
    /// `tls`: how the listener serves, which names the request's own origin.
    func requireSameOrigin(_ request: Request, tls: Bool) throws {
        guard isSameOrigin(request.headers, authority: request.head.authority, tls: tls) else {
            throw HTTPError(.forbidden, message: "Cross-site requests are refused.")
        }
    }
}
