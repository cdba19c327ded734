import Foundation
import MFACore

#if canImport(Glibc)
import Glibc
#endif

/// A program started with posix_spawn. Foundation's `Process.run()` on Linux (Swift 6.3.1) reads past the end of a
/// `readdir` buffer while it lists /proc/self/fd and crashes now and then (swift-corelibs-foundation PR #5472); a
/// suite that starts hundreds of radclient, ldapwhoami and countersign processes met it in about one run of five.
final class SpawnedProcess: Sendable {
    let pid: pid_t
    /// The wait status once the process was reaped.
    private let reaped = Locked<Int32?>(nil)

    /// Starts `path` with `arguments`, its standard input from `input` and its output and errors to `output` (file
    /// descriptors that the child gets as 0, 1 and 2; every other descriptor is closed in the child).
    init(_ path: String, _ arguments: [String], environment: [String: String]? = nil, input: Int32, output: Int32) throws {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, input, 0)
        posix_spawn_file_actions_adddup2(&actions, output, 1)
        posix_spawn_file_actions_adddup2(&actions, output, 2)
        _ = spawnActionsCloseFrom(&actions, 3)
        let environment = environment ?? ProcessInfo.processInfo.environment
        let argv = ([path] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for pointer in argv { free(pointer) }
            for pointer in envp { free(pointer) }
        }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, path, &actions, nil, argv, envp)
        guard result == 0 else { throw POSIXError(POSIXErrorCode(rawValue: result) ?? .EIO) }
        self.pid = pid
    }

    /// Blocks until the process ends; its exit code, or the number of the signal that ended it.
    func waitUntilExit() -> Int32 {
        // Waits without reaping (WNOWAIT), so that `isRunning` and `signal` never block on a lock meanwhile; the
        // reap then finds it ended (or another caller reaped it already: ECHILD, and the status is kept).
        var info = siginfo_t()
        while waitid(P_PID, id_t(pid), &info, WEXITED | WNOWAIT) != 0, errno == EINTR {}
        return Self.code(reap() ?? 0)
    }

    var isRunning: Bool { reap() == nil }

    func signal(_ number: Int32) {
        if isRunning { kill(pid, number) }
    }

    /// The wait status if the process has ended (reaping it), nil while it runs.
    private func reap() -> Int32? {
        reaped.withLock { reaped in
            if let reaped { return reaped }
            var status: Int32 = 0
            var result: pid_t
            repeat { result = waitpid(pid, &status, WNOHANG) } while result < 0 && errno == EINTR
            guard result == pid else { return nil }
            reaped = status
            return status
        }
    }

    /// WIFEXITED / WEXITSTATUS / WTERMSIG, which Swift does not import (they are macros).
    private static func code(_ status: Int32) -> Int32 {
        status & 0x7f == 0 ? (status >> 8) & 0xff : status & 0x7f
    }
}

/// A pipe whose ends are closed on exec: a child gets only the end dup'ed onto its 0, 1 or 2.
struct ChildPipe {
    let read: Int32
    let write: Int32

    init() throws {
        var ends: [Int32] = [0, 0]
        guard pipeClosedOnExec(&ends, O_CLOEXEC) == 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        read = ends[0]
        write = ends[1]
    }
}

// glibc declares these only under _GNU_SOURCE, which Swift's Glibc module is not built with.
@_silgen_name("pipe2")
private func pipeClosedOnExec(_ ends: UnsafeMutablePointer<Int32>, _ flags: Int32) -> Int32
@_silgen_name("posix_spawn_file_actions_addclosefrom_np")
private func spawnActionsCloseFrom(_ actions: UnsafeMutablePointer<posix_spawn_file_actions_t>, _ lowest: Int32) -> Int32
