import ArgumentParser
import DeviceClient
import DeviceProtocol
import Foundation

/// Writes whole lines with write(2) (no stdio buffering), so a reader on a pipe sees each line at once.
enum Terminal {
    static func out(_ line: String) { FileHandle.standardOutput.write(Data((line + "\n").utf8)) }
    static func err(_ line: String) { FileHandle.standardError.write(Data((line + "\n").utf8)) }
}

@main
struct CountersignDevice: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "countersign-device",
        abstract: "The reference push authenticator of Countersign.",
        subcommands: [Enroll.self, Listen.self]
    )
}

struct KeystoreOption: ParsableArguments {
    @Option(
        name: .long,
        help: "The keystore file (default: $COUNTERSIGN_DEVICE_KEYSTORE, else ~/.config/countersign-device/keystore.json).")
    var keystore: String?

    var path: String { keystore ?? DeviceKeystore.defaultPath() }
}

/// `--ca FILE`: the gateway's certificate is checked against these CAs instead of the system's.
struct TrustOption: ParsableArguments {
    @Option(
        name: .long,
        help: "PEM file of the CA certificates to trust instead of the system's (as SSL_CERT_FILE would), for a gateway with a private CA.")
    var ca: String?

    func transport() throws -> AsyncHTTPClientTransport { try AsyncHTTPClientTransport(caFile: ca) }
}

/// Prints `error` to stderr and exits 1.
func fail(_ error: any Error) -> ExitCode {
    let text = (error as? DeviceClientError)?.description ?? "\(error)"
    Terminal.err("countersign-device: \(text)")
    return ExitCode(1)
}

struct Enroll: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Enroll this device with the URI or link of `countersign device enroll`.")

    @Argument(help: "countersign://enroll?url=…&code=…&fp=… or https://…/authenticator#code=…&fp=…") var uri: String
    @OptionGroup var keystoreOption: KeystoreOption
    @OptionGroup var trust: TrustOption
    @Option(name: .long, help: "The device name shown on the server (default: the host name).") var name: String?
    @Flag(name: .long, help: "Replace an existing keystore.") var force = false

    func run() async throws {
        do {
            let keystore = try await Enrollment.enroll(
                uriText: uri, keystorePath: keystoreOption.path, name: name, force: force, transport: trust.transport())
            Terminal.out("enrolled device \(keystore.deviceID) for \(keystore.user)")
        } catch {
            throw fail(error)
        }
    }
}

enum DecisionMode: String, EnumerableFlag {
    case approve, deny, ask

    static func help(for value: DecisionMode) -> ArgumentHelp? {
        switch value {
        case .approve: "Approve every genuine push."
        case .deny: "Deny every genuine push."
        case .ask: "Ask on the terminal for each push (Approve? [y/N]); only y or yes approves, end of input denies."
        }
    }
}

struct Listen: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Wait for pushes and answer them.")

    @OptionGroup var keystoreOption: KeystoreOption
    @OptionGroup var trust: TrustOption
    @Flag(exclusivity: .exclusive) var mode: DecisionMode
    @Option(name: .long, help: "Exit 0 after this many answers.") var count: Int?
    @Option(name: .long, help: "Exit 1 after this many consecutive connection errors or 5xx (0: never).")
    var maxRetries: Int = 60

    func validate() throws {
        if let count, count < 1 { throw ValidationError("--count must be at least 1") }
        if maxRetries < 0 { throw ValidationError("--max-retries must not be negative") }
    }

    func run() async throws {
        do {
            let path = keystoreOption.path
            let keystore = try DeviceKeystore.load(from: path)
            if let warning = DeviceKeystore.permissionWarning(path: path) { Terminal.err(warning) }
            let client = try DeviceAPIClient(keystore: keystore, transport: trust.transport())
            let decide: PushListener.Decide
            switch mode {
            case .approve: decide = { _ in .approve }
            case .deny: decide = { _ in .deny }
            case .ask: decide = { _ in Self.ask() }
            }
            let listener = PushListener(
                client: client, serverPublicKey: keystore.serverPublicKey,
                options: .init(count: count, maxConsecutiveFailures: maxRetries == 0 ? nil : maxRetries),
                decide: decide, output: Terminal.out, warn: Terminal.err)
            try await listener.run()
        } catch {
            throw fail(error)
        }
    }

    /// `Approve? [y/N] ` on stderr (stdout stays one line per push or answer), the reply from stdin.
    static func ask() -> PushDecision {
        FileHandle.standardError.write(Data("Approve? [y/N] ".utf8))
        guard let line = readLine(strippingNewline: true) else { return .deny }
        return PushDecisionParser.parse(line)
    }
}
