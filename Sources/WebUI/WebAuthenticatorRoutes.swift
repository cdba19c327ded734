import HTTPTypes
import Hummingbird

/// The web authenticator at `/authenticator`: one static page, its script, style, service worker, manifest and icons,
/// embedded in the binary (`PackageResources`, SwiftPM's `.embedInCode`). Everything it needs comes from the same
/// origin, which the Content-Security-Policy pins: no inline script or style, no framing, no referrer.
public struct WebAuthenticatorRoutes: Sendable {
    public static let path = "/authenticator"

    /// The policy of every response here.
    public static let contentSecurityPolicy =
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
        + "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

    /// File name below `/authenticator/` → its bytes and content type. The page itself is `/authenticator`.
    static let files: [String: (bytes: [UInt8], contentType: String)] = [
        "authenticator.js": (PackageResources.authenticator_js, "text/javascript; charset=utf-8"),
        "authenticator.css": (PackageResources.authenticator_css, "text/css; charset=utf-8"),
        "sw.js": (PackageResources.sw_js, "text/javascript; charset=utf-8"),
        "manifest.webmanifest": (PackageResources.manifest_webmanifest, "application/manifest+json"),
        "icon.svg": (PackageResources.icon_svg, "image/svg+xml"),
        "icon-192.png": (PackageResources.icon_192_png, "image/png"),
        "icon-512.png": (PackageResources.icon_512_png, "image/png"),
    ]

    public init() {}

    public func register<Context: RequestContext>(on router: Router<Context>) {
        let routes = RouteCollection(context: Context.self)
        routes.add(middleware: SecurityHeadersMiddleware(contentSecurityPolicy: Self.contentSecurityPolicy))
        routes.get { _, _ in
            Self.response(PackageResources.authenticator_html, contentType: "text/html; charset=utf-8")
        }
        for (name, file) in Self.files {
            routes.get(RouterPath(stringLiteral: name)) { _, _ in Self.response(file.bytes, contentType: file.contentType) }
        }
        router.addRoutes(routes, atPath: RouterPath(stringLiteral: Self.path))
    }

    static func response(_ bytes: [UInt8], contentType: String) -> Response {
        Response(
            status: .ok,
            // Revalidated on each load, so an updated gateway serves its new script at once.
            headers: [.contentType: contentType, .cacheControl: "no-cache"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes)))
    }
}

/// The security headers of the gateway's pages: a Content-Security-Policy, `nosniff`, and no referrer (the
/// authenticator's fragment is never in a referrer anyway; a page's own path need not be either); `Cache-Control`
/// when given (the admin console's pages are never kept).
public struct SecurityHeadersMiddleware<Context: RequestContext>: RouterMiddleware {
    static var referrerPolicy: HTTPField.Name { HTTPField.Name("Referrer-Policy")! }
    let contentSecurityPolicy: String
    let cacheControl: String?

    public init(contentSecurityPolicy: String, cacheControl: String? = nil) {
        self.contentSecurityPolicy = contentSecurityPolicy
        self.cacheControl = cacheControl
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response: Response
        do {
            response = try await next(request, context)
        } catch let error as any HTTPResponseError {
            // An error's response (404, 403) carries the headers too.
            response = try error.response(from: request, context: context)
        }
        response.headers[.contentSecurityPolicy] = contentSecurityPolicy
        response.headers[.xContentTypeOptions] = "nosniff"
        response.headers[Self.referrerPolicy] = "no-referrer"
        if let cacheControl { response.headers[.cacheControl] = cacheControl }
        return response
    }
}
