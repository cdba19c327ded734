import CountersignStore
import Dispatch
import Foundation
import MFACore
import Synchronization
import UserImport

/// Bulk import and export: `countersign user import` and `user export`.
extension CountersignAdmin {
    /// How far an import has got, for a progress line.
    public struct ImportProgress: Sendable {
        public var users: Int
        public var passwordsHashed: Int
        public var bytesRead: Int
        public var totalBytes: Int?
    }

    public struct ImportResult: Sendable {
        public var summary: ImportSummary
        public var warnings: [ImportWarning]
    }

    /// Users read from the file a batch at a time, hashed and written in one transaction.
    public static let importBatchSize = 4096

    /// Imports `path` (see `importUsers(from:source:…)`).
    public func importUsers(
        fromFile path: String, format: ImportFormat, updatingExisting: Bool = false,
        progress: (@Sendable (ImportProgress) -> Void)? = nil
    ) throws -> ImportResult {
        let reader = try format.reader(ByteSource(path: path))
        return try importUsers(from: reader, source: path, format: format, updatingExisting: updatingExisting, progress: progress)
    }

    /// All or nothing, in one transaction with one `user_import` audit event (count and source, never a secret).
    /// The file streams through: a batch is read, its passwords hashed on every core, its rows inserted, then the
    /// next batch. Synchronous, as the store's import is: call it where blocking a thread for the duration is fine.
    public func importUsers(
        from reader: any UserRecordReader, source: String, format: ImportFormat, updatingExisting: Bool = false,
        progress: (@Sendable (ImportProgress) -> Void)? = nil
    ) throws -> ImportResult {
        let hasher = self.hasher
        var users = 0
        var hashed = 0
        let report = { (users: Int, hashed: Int) in
            progress?(ImportProgress(users: users, passwordsHashed: hashed, bytesRead: reader.bytesRead, totalBytes: reader.totalBytes))
        }
        let time = clock.now()
        var event: AuditEvent?
        let summary = try store.importUsers(
            updatingExisting: updatingExisting, at: time,
            nextBatch: {
                var records: [ImportRecord] = []
                records.reserveCapacity(Self.importBatchSize)
                while records.count < Self.importBatchSize, let record = try reader.next() { records.append(record) }
                guard !records.isEmpty else { return nil }
                let hashes = try Self.hashPasswords(records.map(\.password), with: hasher) { done in
                    report(users + done.users, hashed + done.hashed)
                }
                users += records.count
                hashed += records.count(where: { $0.password != nil })
                report(users, hashed)
                return zip(records, hashes).map { record, hash in
                    ImportedUser(line: record.line, name: record.username, passwordHash: hash, totpSecret: record.totpSecret)
                }
            },
            auditEvent: { summary in
                let made = AuditEvent(
                    time: time, type: .userImport, user: nil, resource: "admin:cli", result: .success,
                    details: [
                        "count": "\(summary.count)", "added": "\(summary.added)", "updated": "\(summary.updated)",
                        "source": source, "format": format.rawValue,
                    ])
                event = made
                return made
            })
        if let event { audit.log(event) }
        return ImportResult(summary: summary, warnings: reader.warnings)
    }

    /// scrypt on every core, a few hashes per core at a time so that `progress` (users and hashes done so far in
    /// this batch) moves. Dispatch's pool, not a task group: this runs inside the store's synchronous transaction.
    static func hashPasswords(
        _ passwords: [String?], with hasher: PasswordHasher, progress: ((users: Int, hashed: Int)) -> Void
    ) throws -> [String?] {
        let wanted = passwords.indices.filter { passwords[$0] != nil }
        guard !wanted.isEmpty else { return passwords.map { _ in nil } }
        let results = Mutex([Int: Result<String, any Error>]())
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
        try store.forEachUser(includeSecrets: includeSecrets) { user in
            count += 1
            try body(
                ExportRow(
                    username: user.name, mfa: MFAStatus(totp: user.totpEnrolled, push: user.hasDevice),
                    totpSecret: user.totpSecret),
                user.hasPassword)
        }
        await audit.record(
            AuditEvent(
                time: clock.now(), type: .userExport, user: nil, resource: "admin:cli", result: .success,
                details: ["count": "\(count)", "include_secrets": "\(includeSecrets)"]))
    }
}
