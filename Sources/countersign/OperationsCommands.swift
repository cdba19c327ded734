import ArgumentParser
import AsyncHTTPClient
import CountersignApp
import CountersignConfig
import CountersignHTTP
import Foundation
import MFACore
import NIOCore
import NIOHTTP1
import NIOSSL

struct Config: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Check the configuration file.", subcommands: [Check.self])

    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Report every error in the configuration file at once; exit 1 if there is one.")
        @OptionGroup var options: ConfigOption

        func run() async throws {
            var errors = CountersignConfiguration.check(path: options.path)
            // The attribute names of the reply rules and pass_through, once the file reads: against the dictionary
            // `serve` would load.
            if errors.isEmpty {
                do {
                    try CountersignGateway.checkAttributeNames(try CountersignConfiguration.load(path: options.path))
                } catch {
                    errors.append(error)
                }
            }
            guard errors.isEmpty else {
                for error in errors { printError(error.file == nil ? "\(options.path): \(error)" : "\(error)") }
                printError("\(errors.count) error\(errors.count == 1 ? "" : "s")")
                throw ExitCode(1)
            }
            print("\(options.path): configuration OK")
        }
    }
}

struct Store: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Back up and restore the store (SQLite), or copy it into another (SQLite or PostgreSQL).",
        subcommands: [Backup.self, Restore.self, Copy.self])

    struct Copy: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Copy everything in the store into the empty store of another configuration with the same store key.",
            discussion: """
                Users, password hashes, sealed TOTP secrets, used codes, lockouts, groups, devices, the server's \
                signing key, settings and events: SQLite to PostgreSQL when moving to a cluster, and back. Stop `serve` first.
                """)
        @OptionGroup var options: ConfigOption
        @Option(help: "The configuration whose store receives the copy.") var to: String

        func run() async throws {
            let copied = try await StoreOpener.copy(from: options.load().store, to: ConfigOption.load(to).store)
            print("copied \(copied.counts) into the store of \(to)")
        }
    }

    struct Backup: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Copy the store into FILE (mode 0600), consistent while `serve` runs; the store key is not in it.")
        @OptionGroup var options: ConfigOption
        @Argument(help: "The backup file; replaced once the copy is complete.") var file: String

        func run() async throws {
            let store = try options.load().store
            let copied = try StoreOpener.backup(store, to: file)
            print("backed up \(copied.counts) to \(file)")
            printError("the store key is not in the backup: keep \(Store.keyLocation(store)) apart from it, as safely")
        }
    }

    struct Restore: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Put a backup in place as the store, which must not exist yet; FILE must pass an integrity check.")
        @OptionGroup var options: ConfigOption
        @Argument(help: "A file made by `countersign store backup`.") var file: String

        func run() async throws {
            let settings = try options.load().store
            let copied = try StoreOpener.restore(settings, from: file)
            print("restored \(copied.counts) into \(settings.path)")
            let environment = ProcessInfo.processInfo.environment
            guard environment[SecretBox.keyVariable] != nil || FileManager.default.fileExists(atPath: settings.keyPath) else {
                printError(
                    "warning: no store key at \(settings.keyPath): put the key of the store the backup came from there "
                        + "(or in \(SecretBox.keyVariable)) before `serve`, or its TOTP secrets and push devices will not work")
                return
            }
            do {
                _ = try await StoreOpener.open(settings).serverSigningKey()
            } catch {
                printError(
                    "warning: \(Store.keyLocation(settings)) does not open the secrets of the restored store: it needs the key of "
                        + "the store the backup came from")
                throw ExitCode(1)
            }
        }
    }

    static func keyLocation(_ store: StoreSettings) -> String {
        ProcessInfo.processInfo.environment[SecretBox.keyVariable] != nil ? SecretBox.keyVariable : "the key file \(store.keyPath)"
    }
}

struct Status: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "What the running gateway reports: version, uptime, pushes pending, the last minute's logins.",
        discussion: "Asks GET /v1/status of the HTTP listener (http.listen) of this machine, which serves it only to this machine.")
    @OptionGroup var options: ConfigOption
    @Flag(help: "One JSON object.") var json = false

    func run() async throws {
        let http = try options.load().http
        let url = Self.url(http)
        let status: NodeStatus
        do {
            status = try await Self.fetch(url)
        } catch {
            throw ValidationError("no status from \(url) (is `countersign serve` running?): \(error)")
        }
        if json { return try printJSON(status) }
        print("version:         \(status.version)")
        print("uptime:          \(Self.duration(status.uptimeSeconds))")
        print("pushes pending:  \(status.pushesPending)")
        print("logins on push:  \(status.loginsWaitingOnPush)")
        let last = status.lastMinute
        print("last minute:     \(last.accepts) accepted, \(last.rejects) rejected, \(last.challenges) challenged")
    }

    /// This machine's side of `http.listen`: a wildcard address is reached on loopback.
    static func url(_ http: HTTPSettings) -> String {
        let host =
            switch http.listen.host {
            case "0.0.0.0": "127.0.0.1"
            case "::": "::1"
            case let host: host
            }
        let authority = host.contains(":") ? "[\(host)]:\(http.listen.port)" : "\(host):\(http.listen.port)"
        return "\(http.servesTLS ? "https" : "http")://\(authority)/v1/status"
    }

    static func fetch(_ url: String) async throws -> NodeStatus {
        var request = HTTPClientRequest(url: url)
        // The gateway's certificate names its public host, not the address asked here, and its CA may be private.
        // The request carries no secret and the answer decides nothing, so it is not verified.
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.certificateVerification = .none
        request.tlsConfiguration = tls
        // A refused connection is an answer: no gateway listens. No retrying until the timeout.
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool.retryConnectionEstablishment = false
        let client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
        let answer: Result<(HTTPResponseStatus, ByteBuffer), any Error>
        do {
            let response = try await client.execute(request, timeout: .seconds(10))
            answer = .success((response.status, try await response.body.collect(upTo: 1 << 16)))
        } catch {
            answer = .failure(error)
        }
        try? await client.shutdown()
        let (status, body) = try answer.get()
        guard status == .ok else { throw ValidationError("HTTP \(status.code)") }
        return try JSONDecoder().decode(NodeStatus.self, from: Data(body.readableBytesView))
    }

    static func duration(_ seconds: Int) -> String {
        let (days, hours, minutes) = (seconds / 86400, seconds / 3600 % 24, seconds / 60 % 60)
        return (days > 0 ? "\(days)d " : "") + String(format: "%02d:%02d:%02d", hours, minutes, seconds % 60)
    }
}

func printError(_ line: String) {
    FileHandle.standardError.write(Data((line + "\n").utf8))
}
