import MFACore

extension PostgresStore {
    /// Nil when the server answers `SELECT 1` within a second, else what is wrong: `/readyz` asks.
    public func healthProblem() async -> String? {
        do {
            try await database.ping(within: Self.healthLimit)
            return nil
        } catch {
            return "\(error)"
        }
    }
}
