import Hummingbird

/// What the operator's tools ask of a running node: `/healthz` (the process answers), `/readyz` (it can serve
/// logins: 200, or 503 with what is wrong) and `/v1/status`, served only to this machine (it says how busy the
/// gateway is; elsewhere a 404, as if it did not exist).
struct OperationsRoutes<Context: RequestContext> {
    let probe: any NodeProbe
    /// Whether a request may see `/v1/status`; nil: the route is not served here.
    let statusAllowed: (@Sendable (Context) -> Bool)?

    func register(on router: Router<Context>) {
        let probe = self.probe
        router.get("/healthz") { _, _ in try JSONResponse.make(Health(ready: nil, problems: nil)) }
        router.get("/readyz") { _, _ in
            let problems = await probe.readinessProblems()
            return try JSONResponse.make(
                Health(ready: problems.isEmpty, problems: problems.isEmpty ? nil : problems),
                status: problems.isEmpty ? .ok : .serviceUnavailable)
        }
        guard let statusAllowed else { return }
        router.get("/v1/status") { _, context in
            guard statusAllowed(context) else { throw HTTPError(.notFound) }
            return try JSONResponse.make(await probe.status())
        }
    }

    /// `{"status":"ok"}`, with `ready` and `problems` on `/readyz`.
    struct Health: Encodable {
        var status = "ok"
        var ready: Bool?
        var problems: [String]?

        init(ready: Bool?, problems: [String]?) {
            self.ready = ready
            self.problems = problems
            if ready == false { status = "unavailable" }
        }
    }
}
