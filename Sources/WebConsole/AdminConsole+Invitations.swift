import Foundation
import Hummingbird
import MFACore

/// The user page's invitation button: the link is shown on the page that answers the POST, once, and never put in
/// a URL (which history and logs keep).
extension AdminConsole {
    func invite<Context: WebSessionRequestContext>(_ request: Request, context: Context) async throws -> Response {
        _ = try await form(request, session: context.webSession)
        let name = try userName(context)
        let link: String
        do {
            link = try await actions.invite(name, actor: actor(context))
        } catch let error as StoreError {
            return .redirect(to: Self.userPath(name) + "?" + Self.message("error", Self.explain(error)))
        }
        let expires = clock.now().addingTimeInterval(UserPortal.invitationLifetime)
        return pages.render(
            "invitation",
            page(
                "Invitation", request, context: context,
                content: InvitationContent(name: name, path: Self.userPath(name), link: link, expires: Self.shown(expires))))
    }
}

struct InvitationContent {
    var name: String
    var path: String
    var link: String
    var expires: String
}
