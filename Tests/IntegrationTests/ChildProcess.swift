import Foundation
import MFACore

/// A program run by a test, its output read line by line as it comes, so a test can wait for what the program
/// says (a push shown, a packet sent) instead of sleeping.
final class ChildProcess: Sendable {
    private struct State {
        var lines: [String] = []
        var finished = false
        var waiters: [(id: Int, condition: @Sendable ([String]) -> Bool, continuation: CheckedContinuation<[String]?, Never>)] = []
        var nextID = 0
    }

    private let process: SpawnedProcess
    /// The write end of the program's standard input; -1 once closed.
    private let input: Locked<Int32>
    private let state = Locked(State())

    init(_ executable: String, _ arguments: [String], environment: [String: String]? = nil) throws {
        let inputPipe = try ChildPipe()
        let outputPipe = try ChildPipe()
        defer {
            close(inputPipe.read)
            close(outputPipe.write)
        }
        process = try SpawnedProcess(
            executable, arguments,
            environment: environment.map { ProcessInfo.processInfo.environment.merging($0) { $1 } },
            input: inputPipe.read, output: outputPipe.write)
        input = Locked(inputPipe.write)
        let output = outputPipe.read
        // A thread of its own: blocking reads must stay off the cooperative pool the gateway needs.
        Thread { [self] in
            defer { close(output) }
            var pending = Data()
            while true {
                guard let chunk = readPipe(output) else { break }
                pending.append(contentsOf: chunk)
                while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                    let line = String(decoding: pending[pending.startIndex..<newline], as: UTF8.self)
                    pending.removeSubrange(pending.startIndex...newline)
                    self.append(line)
                }
            }
            if !pending.isEmpty { self.append(String(decoding: pending, as: UTF8.self)) }
            let waiters = state.withLock { state in
                state.finished = true
                defer { state.waiters = [] }
                return state.waiters
            }
            for waiter in waiters { waiter.continuation.resume(returning: nil) }
        }.start()
    }

    deinit {
        input.withLock { descriptor in
            if descriptor >= 0 { close(descriptor) }
        }
    }

    private func append(_ line: String) {
        let ready = state.withLock { state in
            state.lines.append(line)
            let ready = state.waiters.filter { $0.condition(state.lines) }
            state.waiters.removeAll { waiter in ready.contains { $0.id == waiter.id } }
            return (ready, state.lines)
        }
        for waiter in ready.0 { waiter.continuation.resume(returning: ready.1) }
    }

    /// Waits until `count` output lines (counted from the start) match; those lines, or nil when the program
    /// ends first.
    func lines(where predicate: @escaping @Sendable (String) -> Bool, count: Int = 1) async -> [String]? {
        let condition: @Sendable ([String]) -> Bool = { $0.filter(predicate).count >= count }
        let all: [String]? = await withCheckedContinuation { continuation in
            let found: [String]?? = state.withLock { state in
                if condition(state.lines) { return .some(state.lines) }
                if state.finished { return .some(nil) }
                state.nextID += 1
                state.waiters.append((state.nextID, condition, continuation))
                return nil
            }
            if let found { continuation.resume(returning: found) }
        }
        return all?.filter(predicate)
    }

    var output: [String] { state.withLock { $0.lines } }

    func write(_ text: String) {
        // A program that has exited closed its end: the write fails, which the test's own checks then show.
        input.withLock { descriptor in
            if descriptor >= 0 { writePipe(descriptor, Array(text.utf8)) }
        }
    }

    func closeInput() throws {
        input.withLock { descriptor in
            if descriptor >= 0 { close(descriptor) }
            descriptor = -1
        }
    }

    var isRunning: Bool { process.isRunning }

    /// Sends a signal (SIGTERM for a graceful stop, SIGKILL for a crash).
    func signal(_ number: Int32) {
        process.signal(number)
    }

    func terminate() {
        process.signal(SIGTERM)
    }

    /// Waits for the program to end and its output to be read to the end; its exit status.
    func exitStatus() async throws -> Int32 {
        let process = self.process
        let status = try await offCooperativePool { process.waitUntilExit() }
        _ = await lines(where: { _ in false })
        return status
    }

    /// Where `swift build` put the package's executables: beside the test bundle.
    static func builtProduct(_ name: String) -> String {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent(name).path
    }
}

/// The next bytes from a pipe, nil at its end. `FileHandle.availableData` traps when a signal interrupts the read
/// (EINTR), which the test process sees whenever a child exits; this reads again instead.
func readPipe(_ descriptor: Int32) -> [UInt8]? {
    var buffer = [UInt8](repeating: 0, count: 65536)
    while true {
        let count = read(descriptor, &buffer, buffer.count)
        if count > 0 { return Array(buffer[..<count]) }
        if count < 0, errno == EINTR { continue }
        return nil
    }
}

/// Everything a pipe holds until its writer closes it.
func readPipeToEnd(_ descriptor: Int32) -> [UInt8] {
    var all: [UInt8] = []
    while let chunk = readPipe(descriptor) { all += chunk }
    return all
}

/// Writes all of `bytes` to a pipe, again after a signal interrupts; false when the reader has gone.
@discardableResult
func writePipe(_ descriptor: Int32, _ bytes: [UInt8]) -> Bool {
    _ = brokenPipesAreErrors
    var offset = 0
    while offset < bytes.count {
        let count = bytes[offset...].withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        if count > 0 { offset += count } else if count < 0, errno == EINTR { continue } else { return false }
    }
    return true
}

/// A write to a child that has exited fails with EPIPE instead of killing the test process.
private let brokenPipesAreErrors: Void = { signal(SIGPIPE, SIG_IGN) }()
