/// Runs work once the calling thread has finished its current turn (an event loop's pass over the work queued on
/// it), or says that it cannot (the caller is on no such thread). The SQLite store's group commit starts a batch
/// there, so that the writes of the logins one pass decided commit together instead of one or two at a time.
public struct EndOfTurn: Sendable {
    private let schedule: @Sendable (@escaping @Sendable () -> Void) -> Bool

    /// `schedule` queues its argument behind the calling thread's queued work and returns true, or returns false.
    public init(_ schedule: @escaping @Sendable (@escaping @Sendable () -> Void) -> Bool) {
        self.schedule = schedule
    }

    /// False: `work` was not queued, and the caller runs it now.
    public func afterTurn(_ work: @escaping @Sendable () -> Void) -> Bool {
        schedule(work)
    }
}
