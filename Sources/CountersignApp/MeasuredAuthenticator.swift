import MFACore

/// The MFA core as the front ends see it, with each login's time to its verdict recorded by front end and outcome.
struct MeasuredAuthenticator: LoginAuthenticator {
    let authenticator: any LoginAuthenticator
    let metrics: GatewayMetrics

    func attemptReceived(_ attempt: LoginAttempt) -> LoginAttempt {
        authenticator.attemptReceived(attempt)
    }

    func prepare(for username: String, code: String?) async -> PreparedCredentials? {
        await authenticator.prepare(for: username, code: code)
    }

    func release(_ prepared: PreparedCredentials) async {
        await authenticator.release(prepared)
    }

    func authenticate(_ attempt: LoginAttempt) async -> Verdict {
        let started = ContinuousClock.now
        let verdict = await authenticator.authenticate(attempt)
        metrics.loginDecided(attempt.resource.kind, verdict, after: .now - started)
        return verdict
    }
}
