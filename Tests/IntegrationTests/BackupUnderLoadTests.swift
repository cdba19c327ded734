import Foundation
import MFACore
import Testing

/// `countersign store backup` while `serve` answers RADIUS logins and enrolls devices: the backup restores into a
/// store that passes the integrity check and holds every user and every device acknowledged before it began.
@Suite struct BackupUnderLoadTests {
    typealias Progress = CrashDuringAuthLoadTests.Progress

    @Test func aBackupTakenUnderLoadRestoresEverythingAcknowledgedBeforeIt() async throws {
        let installation = try ServeProcessTests.Installation(
            clientMode: "second-factor-only", radiusSettings: "client_failure_rate = 0", sections: "[lockout]\nmax_failures = 1000")
        defer { installation.remove() }
        let loadUsers = (0..<4).map { "load\($0)" }
        let deviceUsers = (0..<16).map { "phone\($0)" }
        var secrets: [String: [UInt8]] = [:]
        for user in loadUsers {
            _ = try await installation.cli(["user", "add", user])
            let enrolled = try await installation.cli(["totp", "enroll", user, "--json"])
            let json = try #require(enrolled.last.flatMap { try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: String] })
            secrets[user] = try #require(json["secret"].flatMap(Base32.decode))
        }
        var uris: [String: String] = [:]
        for user in deviceUsers {
            _ = try await installation.cli(["user", "add", user])
            uris[user] = try #require(try await installation.cli(["device", "enroll", user]).last)
        }

        let (server, port) = try await installation.serve()
        defer { server.terminate() }
        let (progress, reporter) = AsyncStream.makeStream(of: Progress.self)
        let stop = CrashDuringAuthLoadTests.Stop()
        let load = CrashDuringAuthLoadTests.codeLogins(secrets, port: port, until: stop, reporting: reporter)
        let enrollments = CrashDuringAuthLoadTests.enrollments(
            deviceUsers, uris: uris, folder: installation.folder, lanes: 1, until: stop, reporting: reporter)

        // The backup begins once logins are answered and some enrollments acknowledged, with more of both under way.
        var replies = 0
        var acknowledged: [String: String] = [:]
        var events = progress.makeAsyncIterator()
        waiting: while replies < 40 || acknowledged.count < 4, let event = await events.next() {
            switch event {
            case .reply: replies += 1
            case .enrolled(let user, let deviceID): acknowledged[user] = deviceID
            case .enrollmentsEnded: break waiting
            }
        }
        let backup = installation.folder + "/backup.db"
        let made = try await installation.cli(["store", "backup", backup])
        // Still under load as the backup ends.
        var repliesDuringBackup = 0
        while repliesDuringBackup < 10, let event = await events.next() {
            if case .reply = event { repliesDuringBackup += 1 }
        }
        stop.set()
        try await load.value
        await enrollments.value
        reporter.finish()
        // stdout and stderr in one stream: the order of their lines is not fixed.
        #expect(made.contains { $0.hasPrefix("backed up \(loadUsers.count + deviceUsers.count) users and ") }, "\(made)")
        #expect(acknowledged.count >= 4)

        // Restored beside a copy of the key, kept apart from the backup.
        let restoredInstallation = try ServeProcessTests.Installation()
        defer { restoredInstallation.remove() }
        try FileManager.default.copyItem(
            atPath: installation.folder + "/countersign.db.key", toPath: restoredInstallation.folder + "/countersign.db.key")
        let restored = try await restoredInstallation.cli(["store", "restore", backup])
        #expect(restored.contains { $0.hasPrefix("restored \(loadUsers.count + deviceUsers.count) users and ") }, "\(restored)")
        #expect(!restored.contains { $0.hasPrefix("warning") }, "\(restored)")

        let check = try ChildProcess(
            "/usr/bin/sqlite3", [restoredInstallation.folder + "/countersign.db", "PRAGMA integrity_check; SELECT user || ' ' || id FROM devices;"])
        #expect(try await check.exitStatus() == 0)
        #expect(check.output.first == "ok", "\(check.output.prefix(5))")
        let devices = Set(check.output.dropFirst())
        for (user, deviceID) in acknowledged.sorted(by: { $0.key < $1.key }) {
            #expect(devices.contains("\(user) \(deviceID)"), "device of \(user), acknowledged before the backup, missing")
        }
        let users = try await restoredInstallation.cli(["user", "list"]).map { String($0.split(separator: "\t")[0]) }
        #expect(Set(users) == Set(loadUsers + deviceUsers))
    }
}
