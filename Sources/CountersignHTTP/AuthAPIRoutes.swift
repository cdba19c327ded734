import CountersignConfig
import DeviceProtocol
import Foundation
import Hummingbird
import MFACore

/// `POST /v1/auth` for resources that checked the password themselves (a web portal, a PAM module): the resource's
/// API key names it; the user gets a push (or gives a TOTP code); the answer is the verdict. The push limiter
/// applies here: a refused attempt is 429.
struct AuthAPIRoutes: Sendable {
    /// Calls under way per resource: each may wait a push's whole timeout, so one resource's burst must not pile up
    /// without bound (or take every waiting slot from the others).
    final class InFlight: Sendable {
        static let defaultMaximumPerResource = 1000
        let maximumPerResource: Int
        private let counts = Locked<[String: Int]>([:])

        init(maximumPerResource: Int = InFlight.defaultMaximumPerResource) {
            self.maximumPerResource = maximumPerResource
        }

        /// False when the resource already has its maximum under way.
        func begin(_ resource: String) -> Bool {
            counts.withLock { counts in
                guard counts[resource, default: 0] < maximumPerResource else { return false }
                counts[resource, default: 0] += 1
                return true
            }
        }

        func end(_ resource: String) {
            counts.withLock { counts in
                let left = counts[resource, default: 1] - 1
                counts[resource] = left > 0 ? left : nil
            }
        }
    }

    let resources: [AuthAPIResource]
    let authenticator: any LoginAuthenticator
    let inFlight: InFlight
    let drops: DropReport

    func register(on router: Router<CountersignRequestContext>) {
        router.post(RouterPath(stringLiteral: DeviceAPI.authPath)) { request, context in
            try await authenticate(request, context)
        }
    }

    private func authenticate(_ request: Request, _ context: CountersignRequestContext) async throws -> Response {
        guard let resource = resource(for: request) else {
            return try JSONResponse.make(AuthResponse(result: "deny", reason: "unknown API key"), status: .unauthorized)
        }
        guard let body = try? await request.decode(as: AuthRequest.self, context: context), !body.user.isEmpty else {
            return try JSONResponse.make(AuthResponse(result: "deny", reason: "malformed request"), status: .badRequest)
        }
        guard inFlight.begin(resource.name) else {
            drops.dropped(.overloaded, client: "api:\(resource.name)")
            return try Self.busy()
        }
        defer { inFlight.end(resource.name) }
        let attempt = LoginAttempt(
            username: body.user, secret: body.code ?? "push", delivery: .secondFactorOnly,
            resource: Resource(kind: .api, name: resource.name),
            // The end user's address as the resource reports it; the resource's own address says nothing about them.
            clientAddress: body.clientAddress ?? "")
        switch await authenticator.authenticate(authenticator.attemptReceived(attempt)) {
        case .accept:
            return try JSONResponse.make(AuthResponse(result: "allow"))
        case .reject(.pushLimited):
            return try JSONResponse.make(AuthResponse(result: "deny", reason: PushLimiter.refusal), status: .tooManyRequests)
        case .reject(let reason):
            return try JSONResponse.make(AuthResponse(result: "deny", reason: reason.userMessage), status: .forbidden)
        case .challenge:
            return try JSONResponse.make(AuthResponse(result: "deny", reason: "a code is required"), status: .forbidden)
        case .dropped:
            return try Self.busy()
        }
    }

    private static func busy() throws -> Response {
        try JSONResponse.make(AuthResponse(result: "deny", reason: "server busy, try again later"), status: .serviceUnavailable)
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
