import CountersignConfig
import DeviceProtocol
import Foundation
import Hummingbird
import MFACore

/// `POST /v1/auth` for resources that checked the password themselves (a web portal, a PAM module): the resource's
/// API key names it; the user gets a push (or gives a TOTP code); the answer is the verdict. The push limiter
/// applies here: a refused attempt is 429.
struct AuthAPIRoutes: Sendable {
    let resources: [AuthAPIResource]
    let authenticator: any LoginAuthenticator

    func register(on router: Router<BasicRequestContext>) {
        router.post(RouterPath(stringLiteral: DeviceAPI.authPath)) { request, context in
            try await authenticate(request, context)
        }
    }

    private func authenticate(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        guard let resource = resource(for: request) else {
            return try JSONResponse.make(AuthResponse(result: "deny", reason: "unknown API key"), status: .unauthorized)
        }
        guard let body = try? await request.decode(as: AuthRequest.self, context: context), !body.user.isEmpty else {
            return try JSONResponse.make(AuthResponse(result: "deny", reason: "malformed request"), status: .badRequest)
        }
        let attempt = LoginAttempt(
            username: body.user, secret: body.code ?? "push", delivery: .secondFactorOnly,
            resource: Resource(kind: .api, name: resource.name),
            // The end user's address as the resource reports it; the resource's own address says nothing about them.
            clientAddress: body.clientAddress ?? "")
        switch await authenticator.authenticate(attempt) {
        case .accept:
            return try JSONResponse.make(AuthResponse(result: "allow"))
        case .reject(.pushLimited):
            return try JSONResponse.make(AuthResponse(result: "deny", reason: PushLimiter.refusal), status: .tooManyRequests)
        case .reject(let reason):
            return try JSONResponse.make(AuthResponse(result: "deny", reason: reason.userMessage), status: .forbidden)
        case .challenge:
            return try JSONResponse.make(AuthResponse(result: "deny", reason: "a code is required"), status: .forbidden)
        case .dropped:
            return try JSONResponse.make(AuthResponse(result: "deny", reason: "server busy, try again later"), status: .serviceUnavailable)
        }
    }

    /// `Authorization: Bearer <key>`, compared in constant time against every resource's key.
    private func resource(for request: Request) -> AuthAPIResource? {
        guard let header = request.headers[.authorization], header.hasPrefix("Bearer ") else { return nil }
        let presented = Array(header.dropFirst("Bearer ".count).utf8)
        var found: AuthAPIResource?
        for resource in resources where ConstantTime.equals(Array(resource.apiKey.utf8), presented) {
            found = resource
        }
        return found
    }
}
