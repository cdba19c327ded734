import ArgumentParser
import CountersignApp
import Foundation
import MFACore
import UserImport

extension ImportFormat: ExpressibleByArgument {}

extension User {
    struct Import: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Import users from a CSV, JSON or FreeRADIUS users file: all of them, or none.",
            discussion: """
                CSV: a header row with username (required), password, totp_secret (base32), mfa, groups (names \
                separated by ";", made when missing). JSON: an array of objects with those keys (groups may be an \
                array of names). freeradius: a FreeRADIUS users file; Cleartext-Password and TOTP-Secret are \
                taken, the rest skipped with a warning. Any bad line stops the import, naming the line.
                """)
        @OptionGroup var options: ConfigOption
        @Argument(help: "The file to import.") var file: String
        @Option(help: "csv, json or freeradius (default: from the file name: .csv, .json, users or authorize).")
        var format: ImportFormat?
        @Flag(help: "Update existing users: password and TOTP secret when given; groups, when the file has them, become those listed.")
        var update = false

        func run() async throws {
            guard let format = format ?? ImportFormat(inferringFrom: file) else {
                throw ValidationError("cannot tell the format of \(file) from its name; pass --format csv|json|freeradius")
            }
            let admin = try options.admin()
            // The progress line only on a terminal: a log file gets the summary alone.
            let line = isatty(2) == 1 ? ProgressLine(file: file) : nil
            var progress: (@Sendable (CountersignAdmin.ImportProgress) -> Void)?
            if let line { progress = { line.show($0) } }
            defer { line?.finish() }
            let result = try await admin.importUsers(fromFile: file, format: format, updatingExisting: update, progress: progress)
            for warning in result.warnings { standardError("warning: \(warning)") }
            let summary = result.summary
            let groups = summary.groupsCreated == 0 ? "" : ", \(summary.groupsCreated) group\(summary.groupsCreated == 1 ? "" : "s") created"
            print(
                "imported \(summary.count) user\(summary.count == 1 ? "" : "s") from \(file) "
                    + "(\(summary.added) added, \(summary.updated) updated\(groups))")
        }
    }

    struct Export: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Export every user with its enrollment and groups, as CSV (the import's columns) or JSON.")
        @OptionGroup var options: ConfigOption
        @Flag(help: "A JSON array instead of CSV.") var json = false
        @Flag(help: "Add each user's TOTP secret, in the clear (a warning is printed on stderr).") var includeSecrets = false

        func run() async throws {
            if includeSecrets {
                standardError(
                    "warning: the output holds TOTP secrets in the clear: whoever reads it can make those users' codes. "
                        + "Keep it like a private key and delete it once imported.")
            }
            let encoder = UserExportEncoder(format: json ? .json : .csv, includeSecrets: includeSecrets)
            var output = BufferedOutput()
            output.write(encoder.header)
            var count = 0
            var withPassword = 0
            try await options.admin().exportUsers(includeSecrets: includeSecrets) { row, hasPassword in
                output.write(encoder.encode(row, first: count == 0))
                count += 1
                if hasPassword { withPassword += 1 }
            }
            output.write(encoder.footer(empty: count == 0))
            output.flush()
            if withPassword > 0 {
                standardError(
                    "note: passwords are not exported (only their hashes are stored): \(withPassword) users need one set again "
                        + "after an import")
            }
        }
    }
}

func standardError(_ line: String) {
    FileHandle.standardError.write(Data((line + "\n").utf8))
}

/// Standard output in 64 KiB writes: a million users, not a million write calls.
struct BufferedOutput {
    private var buffer: [UInt8] = []

    mutating func write(_ text: String) {
        buffer.append(contentsOf: text.utf8)
        if buffer.count >= 1 << 16 { flush() }
    }

    mutating func flush() {
        FileHandle.standardOutput.write(Data(buffer))
        buffer.removeAll(keepingCapacity: true)
    }
}

/// One line on a terminal's stderr, rewritten at most five times a second.
final class ProgressLine: Sendable {
    private let file: String
    private let lastShown = Locked(ContinuousClock.Instant?.none)

    init(file: String) {
        self.file = file
    }

    func show(_ progress: CountersignAdmin.ImportProgress) {
        let now = ContinuousClock.now
        let due = lastShown.withLock { last in
            guard last.map({ now - $0 >= .milliseconds(200) }) ?? true else { return false }
            last = now
            return true
        }
        guard due else { return }
        var text = "\r\u{1B}[K\(file): \(progress.phase == .checking ? "checking" : "writing") \(progress.users) users"
        if let total = progress.totalBytes, total > 0 { text += ", \(progress.bytesRead * 100 / total)% read" }
        if progress.passwordsHashed > 0 { text += ", \(progress.passwordsHashed) passwords hashed" }
        FileHandle.standardError.write(Data(text.utf8))
    }

    func finish() {
        FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
    }
}
