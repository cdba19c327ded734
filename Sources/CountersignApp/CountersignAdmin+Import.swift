import Dispatch
import Foundation
import MFACore
import UserImport

/// Bulk import and export: `countersign user import` and `user export`.
extension CountersignAdmin {
    /// How far an import has got, for a progress line.
    public struct ImportProgress: Sendable {
        public enum Phase: Sendable {
            /// The first pass: every line checked, passwords hashed; nothing locked.
            case checking
            /// The second pass: the rows written, in the transaction.
            case writing
        }

        public var phase: Phase
        public var users: Int
        public var passwordsHashed: Int
        public var bytesRead: Int
        public var totalBytes: Int?
    }

    public struct ImportResult: Sendable {
        public var summary: ImportSummary
        public var warnings: [ImportWarning]
    }

    /// Users read from the file a batch at a time.
    public static let importBatchSize = 4096

    /// Imports `path` (see `importUsers(reading:source:…)`).
    public func importUsers(
        fromFile path: String, format: ImportFormat, updatingExisting: Bool = false,
        progress: (@Sendable (ImportProgress) -> Void)? = nil
    ) async throws -> ImportResult {
        try await importUsers(
            reading: { try format.reader(ByteSource(path: path)) }, source: path, format: format,
            updatingExisting: updatingExisting, progress: progress)
    }

    /// All or nothing, in one transaction with one `user_import` audit event (count and source, never a secret).
    ///
    /// Two passes over the file, each a stream (`open` is called once for each): the first checks every line and
    /// hashes the passwords on every core, outside any transaction, into a temporary file; the second writes the
    /// rows in one transaction. So the database's write lock is held only for the inserts, not for the minutes
    /// thousands of scrypt hashes take, and a running `serve` keeps recording logins meanwhile.
    /// The SQLite store's import holds a thread for its duration: call it where that is fine (the CLI).
    public func importUsers(
        reading open: () throws -> any UserRecordReader, source: String, format: ImportFormat,
        updatingExisting: Bool = false, progress: (@Sendable (ImportProgress) -> Void)? = nil
    ) async throws -> ImportResult {
        let spool = try LineSpool()
        // The first pass's reader (and the names it holds) is gone before the second gathers its own.
        let (users, hashed, warnings) = try checkAndHash(open(), into: spool, progress: progress)
        try spool.rewind()

        let reader = try open()
        let time = clock.now()
        var written = 0
        var event: AuditEvent?
        let summary = try await store.importUsers(
            updatingExisting: updatingExisting, at: time,
            nextBatch: {
                var batch: [ImportedUser] = []
                batch.reserveCapacity(Self.importBatchSize)
                while batch.count < Self.importBatchSize, let record = try reader.next() {
                    var hash: String?
                    if record.password != nil {
                        guard let spooled: (username: String, hash: String) = try spool.next(), spooled.username == record.username else {
                            throw ImportError(.io, line: record.line, "\(source) changed during the import; run it again")
                        }
                        hash = spooled.hash
                    }
                    batch.append(
                        ImportedUser(
                            line: record.line, name: record.username, passwordHash: hash, totpSecret: record.totpSecret,
                            groups: record.groups))
                }
                guard !batch.isEmpty else {
                    // Still inside the transaction: a file that grew or shrank since the first pass rolls it back.
                    guard written == users, try spool.next() as [UInt8]? == nil else {
                        throw ImportError(.io, line: nil, "\(source) changed during the import; run it again")
                    }
                    return nil
                }
                written += batch.count
                progress?(
                    ImportProgress(
                        phase: .writing, users: written, passwordsHashed: hashed, bytesRead: reader.bytesRead,
                        totalBytes: reader.totalBytes))
                return batch
            },
            auditEvent: { summary in
                var details = [
                    "count": "\(summary.count)", "added": "\(summary.added)", "updated": "\(summary.updated)",
                    "source": source, "format": format.rawValue,
                ]
                if summary.groupsCreated > 0 { details["groups_created"] = "\(summary.groupsCreated)" }
                let made = audit.stamped(
                    AuditEvent(time: time, type: .userImport, user: nil, resource: actor, result: .success, details: details))
                event = made
                return made
            })
        if let event { audit.log(event) }
        return ImportResult(summary: summary, warnings: warnings)
    }

    /// The first pass: every line read and checked, the passwords hashed, in batches, into `spool`.
    private func checkAndHash(
        _ reader: any UserRecordReader, into spool: LineSpool, progress: (@Sendable (ImportProgress) -> Void)?
    ) throws -> (users: Int, hashed: Int, warnings: [ImportWarning]) {
        var users = 0
        var hashed = 0
        let report = { (users: Int, hashed: Int) in
            progress?(
                ImportProgress(
                    phase: .checking, users: users, passwordsHashed: hashed, bytesRead: reader.bytesRead,
                    totalBytes: reader.totalBytes))
        }
        while true {
            var records: [ImportRecord] = []
            records.reserveCapacity(Self.importBatchSize)
            while records.count < Self.importBatchSize, let record = try reader.next() { records.append(record) }
            guard !records.isEmpty else { break }
            let hashes = try Self.hashPasswords(records.map(\.password), with: hasher) { done in
                report(users + done.users, hashed + done.hashed)
            }
            for (record, hash) in zip(records, hashes) {
                if let hash { try spool.append(username: record.username, hash: hash) }
            }
            users += records.count
            hashed += hashes.count(where: { $0 != nil })
            report(users, hashed)
        }
        return (users, hashed, reader.warnings)
    }

    /// scrypt on every core, a few hashes per core at a time so that `progress` (users and hashes done so far in
    /// this batch) moves. `concurrentPerform` rather than a task group: the import is synchronous throughout (the
    /// store's transaction has to be), and it gives scrypt one thread a core.
    static func hashPasswords(
        _ passwords: [String?], with hasher: PasswordHasher, progress: ((users: Int, hashed: Int)) -> Void
    ) throws -> [String?] {
        let wanted = passwords.indices.filter { passwords[$0] != nil }
        guard !wanted.isEmpty else { return passwords.map { _ in nil } }
        let results = Locked([Int: Result<String, any Error>]())
        let chunk = max(1, ProcessInfo.processInfo.activeProcessorCount) * 4
        for start in stride(from: 0, to: wanted.count, by: chunk) {
            let indices = Array(wanted[start..<min(start + chunk, wanted.count)])
            DispatchQueue.concurrentPerform(iterations: indices.count) { i in
                let index = indices[i]
                let result = Result { try hasher.hash(passwords[index]!) }
                results.withLock { $0[index] = result }
            }
            progress((indices.last! + 1, start + indices.count))
        }
        return try results.withLock { hashes in
            try passwords.indices.map { index in try hashes[index].map { try $0.get() } }
        }
    }

    /// Every user with its enrollment, in name order, handed to `body` one at a time; TOTP secrets decrypted only
    /// with `includeSecrets`. Leaves a `user_export` audit event saying whether secrets left.
    public func exportUsers(includeSecrets: Bool, _ body: (ExportRow, _ hasPassword: Bool) throws -> Void) async throws {
        var count = 0
        try await store.forEachUser(includeSecrets: includeSecrets) { user in
            count += 1
            try body(
                ExportRow(
                    username: user.name, mfa: MFAStatus(totp: user.totpEnrolled, push: user.hasDevice),
                    totpSecret: user.totpSecret, groups: user.groups),
                user.hasPassword)
        }
        await audit.record(
            AuditEvent(
                time: clock.now(), type: .userExport, user: nil, resource: actor, result: .success,
                details: ["count": "\(count)", "include_secrets": "\(includeSecrets)"]))
    }
}
