import Testing

/// Polls `condition` until it holds (what a background queue does shows up), for at most 5 s.
func waitUntil(_ condition: () async throws -> Bool) async throws {
    let deadline = ContinuousClock.now + .seconds(5)
    while try await !condition() {
        try #require(ContinuousClock.now < deadline, "condition never held")
        try await Task.sleep(for: .milliseconds(1))
    }
}
