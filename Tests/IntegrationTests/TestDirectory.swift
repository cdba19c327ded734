import Foundation

/// A real OpenLDAP slapd with a throw-away configuration and a few users (`Scripts/test-directory`):
/// uid=alice|bob|carol|dave,ou=people,dc=example,dc=org (passwords alice-pw …), cn=app,ou=services (app-pw),
/// a CA and a certificate for localhost / 127.0.0.1.
struct TestDirectory {
    let url: String
    let ldapsURL: String
    let caPath: String
    let certificatePath: String
    let privateKeyPath: String

    static let base = "dc=example,dc=org"
    static func userDN(_ user: String) -> String { "uid=\(user),ou=people,\(base)" }
    static let serviceDN = "cn=app,ou=services,dc=example,dc=org"

    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../Scripts/test-directory")
        .standardized.path

    /// Starts a directory in a folder of its own, runs `body`, stops it.
    static func with(_ body: (TestDirectory) async throws -> Void) async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("countersign-slapd-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: folder) }
        // Output to a file, not a pipe: slapd runs on in the background after the script ends.
        let (status, output) = try await offCooperativePool { try Self.runScript(["start", folder]) }
        guard status == 0, let line = output.split(separator: "\n").last(where: { $0.hasPrefix("LDAP_URL=") }) else {
            throw StartFailed(output: output)
        }
        var values: [String: String] = [:]
        for pair in line.split(separator: " ") {
            let parts = pair.split(separator: "=", maxSplits: 1)
            if parts.count == 2 { values[String(parts[0])] = String(parts[1]) }
        }
        let directory = TestDirectory(
            url: values["LDAP_URL"] ?? "", ldapsURL: values["LDAPS_URL"] ?? "", caPath: values["LDAP_CA"] ?? "",
            certificatePath: values["LDAP_CERT"] ?? "", privateKeyPath: values["LDAP_KEY"] ?? "")
        do {
            try await body(directory)
        } catch {
            _ = try? await offCooperativePool { try Self.runScript(["stop", folder]) }
            throw error
        }
        _ = try await offCooperativePool { try Self.runScript(["stop", folder]) }
    }

    private static func runScript(_ arguments: [String]) throws -> (Int32, String) {
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("countersign-slapd-\(UUID()).out")
        FileManager.default.createFile(atPath: log.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: log) }
        let handle = try FileHandle(forWritingTo: log)
        let nullInput = open("/dev/null", O_RDONLY | O_CLOEXEC)
        defer { close(nullInput) }
        let process = try SpawnedProcess("/bin/bash", [script] + arguments, input: nullInput, output: handle.fileDescriptor)
        let status = process.waitUntilExit()
        try handle.close()
        return (status, (try? String(contentsOf: log, encoding: .utf8)) ?? "")
    }

    struct StartFailed: Error { var output: String }
}

/// OpenLDAP's command-line clients (ldap-utils); their exit status is the LDAP result code.
enum LDAPTool {
    static func run(_ tool: String, _ arguments: [String], caPath: String? = nil) async throws -> (status: Int32, output: [String]) {
        // LDAPNOINIT would make libldap ignore LDAPTLS_CACERT too, so the CA goes in only through the environment.
        var environment: [String: String] = [:]
        if let caPath { environment["LDAPTLS_CACERT"] = caPath }
        let process = try ChildProcess("/usr/bin/\(tool)", arguments, environment: environment)
        return (try await process.exitStatus(), process.output)
    }

    static func whoami(_ url: String, dn: String, password: String, extra: [String] = [], caPath: String? = nil) async throws -> (status: Int32, output: [String]) {
        try await run("ldapwhoami", ["-x", "-H", url, "-D", dn, "-w", password, "-o", "nettimeout=\(Int(TestTimeout.scaled(20)))"] + extra, caPath: caPath)
    }
}
