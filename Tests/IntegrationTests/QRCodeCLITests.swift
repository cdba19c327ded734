import DeviceProtocol
import Foundation
import Testing

/// The QR codes of `countersign totp enroll` and `device enroll`, decoded by zxing-cpp (Scripts/qr-decode): the SVG of
/// `--qr FILE`, and the drawing on a terminal (a pseudo-terminal), each against the exact URI or link printed.
@Suite struct QRCodeCLITests {
    static let decoder = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../Scripts/qr-decode").standardized.path

    /// Scripts/qr-decode with Python from PATH (where Scripts/test installs zxing-cpp); its output lines.
    static func decode(_ arguments: [String]) async throws -> (status: Int32, output: [String]) {
        let process = try ChildProcess("/usr/bin/env", ["python3", decoder] + arguments)
        return (try await process.exitStatus(), process.output)
    }

    /// The drawing's text, and the lines the command printed after it, from `countersign ARGUMENTS` on a terminal.
    static func onTerminal(_ installation: ServeProcessTests.Installation, _ arguments: [String]) async throws
        -> (decoded: String, printed: [String])
    {
        let (status, output) = try await decode(
            ["tty", ChildProcess.builtProduct("countersign")] + arguments + ["--config", installation.config])
        try #require(status == 0, "\(output)")
        let separator = try #require(output.firstIndex(of: "--"), "\(output)")
        return (output[..<separator].joined(separator: "\n"), Array(output[(separator + 1)...]))
    }

    static func mode(_ path: String) throws -> Int {
        try #require(FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? NSNumber).intValue & 0o777
    }

    @Test func totpEnrollWritesAnSVGOfTheURIAndDrawsOnlyOnATerminal() async throws {
        let installation = try ServeProcessTests.Installation()
        defer { installation.remove() }
        _ = try await installation.cli(["user", "add", "alice"])
        let svg = installation.folder + "/alice.svg"
        // Piped: the URI alone, as before.
        let printed = try await installation.cli(["totp", "enroll", "alice", "--qr", svg])
        #expect(printed.count == 1)
        let uri = try #require(printed.first)
        #expect(uri.hasPrefix("otpauth://totp/"))
        #expect(try Self.mode(svg) == 0o600)
        #expect(try await Self.decode(["svg", svg]) == (0, [uri]))

        _ = try await installation.cli(["user", "add", "carol"])
        let terminal = try await Self.onTerminal(installation, ["totp", "enroll", "carol"])
        #expect(terminal.printed.count == 1)
        #expect(terminal.printed.first?.hasPrefix("otpauth://totp/Countersign:carol?") == true)
        #expect(terminal.decoded == terminal.printed.first)
    }

    @Test func deviceEnrollShowsTheLinkAsQRCodeAndPrintsLinkAndURI() async throws {
        let installation = try ServeProcessTests.Installation()
        defer { installation.remove() }
        _ = try await installation.cli(["user", "add", "bob"])
        let svg = installation.folder + "/bob.svg"
        let printed = try await installation.cli(["device", "enroll", "bob", "--qr", svg])
        #expect(printed.count == 2, "\(printed)")
        let link = try #require(printed.first)
        let uri = try #require(printed.last)
        #expect(link.hasPrefix("http://127.0.0.1:\(installation.httpPort)/authenticator#code="))
        #expect(uri.hasPrefix("countersign://enroll?"))
        #expect(EnrollmentURI(link) == EnrollmentURI(uri))
        #expect(try Self.mode(svg) == 0o600)
        #expect(try await Self.decode(["svg", svg]) == (0, [link]))

        _ = try await installation.cli(["user", "add", "dave"])
        let terminal = try await Self.onTerminal(installation, ["device", "enroll", "dave"])
        #expect(terminal.printed.count == 2, "\(terminal.printed)")
        #expect(terminal.decoded == terminal.printed.first)
        #expect(EnrollmentURI(terminal.decoded) == terminal.printed.last.flatMap(EnrollmentURI.init))
    }

    @Test func jsonHasBothFormsAndNoDrawingEvenOnATerminal() async throws {
        let installation = try ServeProcessTests.Installation()
        defer { installation.remove() }
        _ = try await installation.cli(["user", "add", "erin"])
        let (status, output) = try await Self.decode(
            ["tty", ChildProcess.builtProduct("countersign"), "device", "enroll", "erin", "--json", "--config", installation.config])
        #expect(status == 1)
        #expect(output.contains("qr-decode: no drawing of equal lines of half blocks"), "\(output)")

        _ = try await installation.cli(["user", "add", "frank"])
        let line = try #require(try await installation.cli(["device", "enroll", "frank", "--json"]).last)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: String])
        #expect(Set(json.keys) == ["uri", "url", "code", "fingerprint", "server"])
        let fromURI = try #require(json["uri"].flatMap(EnrollmentURI.init))
        let fromLink = try #require(json["url"].flatMap(EnrollmentURI.init))
        #expect(fromURI == fromLink)
        #expect(fromURI == EnrollmentURI(serverURL: json["server"] ?? "", code: json["code"] ?? "", fingerprint: json["fingerprint"] ?? ""))
        #expect(json["url"]?.hasPrefix("http://127.0.0.1:\(installation.httpPort)/authenticator#") == true)
    }

    @Test func anUnwritableQRFileStopsBeforeAnythingIsEnrolled() async throws {
        let installation = try ServeProcessTests.Installation()
        defer { installation.remove() }
        _ = try await installation.cli(["user", "add", "gina"])
        await #expect(throws: ServeProcessTests.CommandFailed.self) {
            try await installation.cli(["totp", "enroll", "gina", "--qr", installation.folder + "/no/such/folder/gina.svg"])
        }
        let shown = try await installation.cli(["user", "show", "gina"])
        #expect(shown.contains("totp:        none"), "\(shown)")
    }
}
