import ArgumentParser
import Foundation
import QRCode

/// How an enrollment's QR code is shown: drawn on stdout when stdout is a terminal (never into a pipe), and
/// written as SVG with `--qr FILE`.
struct QRCodeOutput: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Also write the QR code as an SVG file (mode 0600: it holds the secret).", valueName: "file"))
    var qr: String?

    /// The `--qr` file, opened before anything is enrolled so that a bad path costs nothing.
    func openFile() throws -> FileHandle? {
        guard let qr else { return nil }
        // Created owner-only: the code carries a TOTP secret or an enrollment code.
        let descriptor = open(qr, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard descriptor >= 0, fchmod(descriptor, 0o600) == 0 else {
            let reason = String(cString: strerror(errno))
            if descriptor >= 0 { close(descriptor) }
            throw ValidationError("--qr \(qr): \(reason)")
        }
        return FileHandle(fileDescriptor: descriptor, closeOnDealloc: true)
    }

    /// Writes the SVG to `file` and, on a terminal, draws the code above what the command prints next.
    func show(_ text: String, file: FileHandle?, drawing: Bool) throws {
        let code = try QRCode(encoding: text)
        if let file {
            try file.write(contentsOf: Data(code.svg().utf8))
            try file.close()
        }
        guard drawing, isatty(STDOUT_FILENO) == 1 else { return }
        // Black on white whatever the terminal's own colours: scanners expect dark modules on a light ground.
        for line in code.terminalText().split(separator: "\n") { print("\u{1B}[30;107m\(line)\u{1B}[0m") }
    }
}
