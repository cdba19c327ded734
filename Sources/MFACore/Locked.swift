#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// A value behind a pthread mutex, for state shared between threads and tasks.
///
/// In place of Synchronization's `Mutex`: on Linux its contended path hands the lock over inside the kernel
/// (`FUTEX_LOCK_PI` / `FUTEX_UNLOCK_PI` in the uninstrumented standard library), where ThreadSanitizer sees no
/// synchronisation, so it reports every contended critical section as a data race. ThreadSanitizer intercepts
/// pthread mutexes, so `Scripts/sanitizers thread` checks what this protects.
public final class Locked<Value>: @unchecked Sendable {
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private var value: Value

    public init(_ value: Value) {
        self.value = value
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        let status = pthread_mutex_init(mutex, nil)
        precondition(status == 0, "pthread_mutex_init failed: \(status)")
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deinitialize(count: 1)
        mutex.deallocate()
    }

    public func withLock<Result, E: Error>(_ body: (inout Value) throws(E) -> Result) throws(E) -> Result {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body(&value)
    }
}
