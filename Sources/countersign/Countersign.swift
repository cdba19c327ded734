import ArgumentParser
import CountersignApp
import CountersignConfig
import Foundation
import Logging
import MFACore
import Metrics
import Prometheus

@main
struct Countersign: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "countersign",
        abstract: "An MFA gateway: RADIUS with a password and a second factor.",
        version: CountersignVersion.current,
        subcommands: [
            Serve.self, User.self, Group.self, TOTP.self, Device.self, Protect.self, Events.self, Status.self, Config.self,
            Store.self, AdminAccounts.self,
        ])
}

/// `--config PATH`, else `$COUNTERSIGN_CONFIG`, else `conf/countersign.toml`.
struct ConfigOption: ParsableArguments {
    @Option(name: .long, help: "Configuration file (default: $COUNTERSIGN_CONFIG, else conf/countersign.toml).")
    var config: String?

    var path: String {
        config ?? ProcessInfo.processInfo.environment["COUNTERSIGN_CONFIG"] ?? "conf/countersign.toml"
    }

    func load() throws -> CountersignConfiguration {
        try Self.load(path)
    }

    /// The configuration at `path`; an error names the file.
    static func load(_ path: String) throws -> CountersignConfiguration {
        do {
            return try CountersignConfiguration.load(path: path)
        } catch {
            throw ValidationError("\(path): \(error)")
        }
    }

    /// Admin commands log their audit lines at `warning` so that their own output stays readable.
    func admin() throws -> CountersignAdmin {
        var logger = Logger(label: "countersign.admin")
        logger.logLevel = .warning
        return try CountersignAdmin(configuration: load(), logger: logger)
    }
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Serve RADIUS until SIGTERM or SIGINT.")
    @OptionGroup var options: ConfigOption

    func run() async throws {
        let configuration = try options.load()
        LoggingSystem.bootstrap(configuration.log)
        let logger = Logger(label: "countersign")
        warnIfReadableByOthers(options.path, logger: logger)
        let gateway = try await CountersignGateway(configuration: configuration, logger: logger)
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: gateway.metrics.registry))
        try await gateway.bind()
        try await gateway.run()
    }
}

/// The configuration holds the RADIUS shared secrets (and perhaps a directory service password).
func warnIfReadableByOthers(_ path: String, logger: Logger) {
    guard let mode = (try? FileManager.default.attributesOfItem(atPath: path))?[.posixPermissions] as? NSNumber,
        mode.intValue & 0o077 != 0
    else { return }
    logger.warning(
        "the configuration file holds secrets and is readable by others: chmod 600 it",
        metadata: ["path": "\(path)", "mode": "\(String(mode.intValue, radix: 8))"])
}

/// Reads one line from standard input: the password, without its line ending.
func readPasswordFromStandardInput() throws -> String {
    guard let line = readLine(strippingNewline: true) else { throw ValidationError("no password on standard input") }
    let password = line.hasSuffix("\r") ? String(line.dropLast()) : line
    guard !password.isEmpty else { throw ValidationError("the password is empty") }
    return password
}

/// `--password-stdin` where a password is required: never on the command line, where `ps` would show it.
struct RequiredPasswordInput: ParsableArguments {
    @Flag(help: "Read the password from standard input (one line).") var passwordStdin = false

    func validate() throws {
        guard passwordStdin else { throw ValidationError("--password-stdin is required") }
    }

    func read() throws -> String {
        try readPasswordFromStandardInput()
    }
}

func printJSON(_ value: some Encodable) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    encoder.dateEncodingStrategy = .iso8601
    print(String(decoding: try encoder.encode(value), as: UTF8.self))
}

struct User: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Manage local users.", subcommands: [
            Add.self, Passwd.self, List.self, Show.self, Delete.self, Unlock.self, Invite.self, Import.self, Export.self,
        ])

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add a user, with a password read from stdin.")
        @OptionGroup var options: ConfigOption
        @Argument var name: String
        @Flag(help: "Read the password from standard input (one line).") var passwordStdin = false

        func run() async throws {
            let password = passwordStdin ? try readPasswordFromStandardInput() : nil
            try await options.admin().addUser(name, password: password)
            print("added user \(name)")
        }
    }

    struct Passwd: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Set a user's password, read from stdin.")
        @OptionGroup var options: ConfigOption
        @Argument var name: String
        @OptionGroup var password: RequiredPasswordInput

        func run() async throws {
            try await options.admin().setPassword(name, password: password.read())
            print("password changed for \(name)")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List users and their enrollment.")
        @OptionGroup var options: ConfigOption
        @Flag(help: "One JSON array.") var json = false

        func run() async throws {
            let users = try await options.admin().users()
            if json { return try printJSON(users) }
            for user in users {
                print("\(user.name)\tpassword=\(user.hasPassword ? "yes" : "no")\ttotp=\(user.totpEnrolled ? "enrolled" : "none")")
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show one user, its enrollment and groups, and what a RADIUS client's Access-Accept would carry.")
        @OptionGroup var options: ConfigOption
        @Argument var name: String
        @Option(help: "A [[radius.clients]] name: list the reply attributes its Access-Accept carries for this user.")
        var client: String?
        @Flag(help: "One JSON object.") var json = false

        /// The user's fields as before, with its groups and (with --client) the reply attributes beside them.
        private struct Shown: Encodable {
            var user: UserSummary
            var groups: [String]
            var replyAttributes: [String]?

            enum CodingKeys: String, CodingKey { case groups, replyAttributes }

            func encode(to encoder: any Encoder) throws {
                try user.encode(to: encoder)
                var container = encoder.container(keyedBy: CodingKeys.self)
                try container.encode(groups, forKey: .groups)
                try container.encodeIfPresent(replyAttributes, forKey: .replyAttributes)
            }
        }

        func run() async throws {
            let configuration = try options.load()
            let admin = try options.admin()
            let user = try await admin.user(name)
            let (groups, attributes) = try await admin.replyPreview(for: name, client: client, configuration: configuration)
            if json { return try printJSON(Shown(user: user, groups: groups, replyAttributes: attributes)) }
            print("name:        \(user.name)")
            print("created:     \(user.createdAt.formatted(.iso8601))")
            print("password:    \(user.hasPassword ? "set" : "none")")
            if let until = user.lockedUntil, until > Date() {
                print("locked:      until \(until.formatted(.iso8601)) (countersign user unlock \(user.name))")
            }
            print("totp:        \(user.totpEnrolledAt.map { "enrolled \($0.formatted(.iso8601))" } ?? "none")")
            if let device = user.device {
                print("device:      \(device.name) (\(device.platform)), id \(device.id)")
                print("  enrolled:  \(device.enrolledAt.formatted(.iso8601))")
                print("  last used: \(device.lastUsed.map { $0.formatted(.iso8601) } ?? "never")")
                print("  user verification: \(device.webAuthn != nil ? "WebAuthn credential" : "none")")
            } else {
                print("device:      none")
            }
            print("groups:      \(groups.isEmpty ? "none" : groups.joined(separator: ", "))")
            if let client, let attributes {
                print("reply to \(client) (local groups; directory groups and upstream attributes are added at login):")
                for line in attributes.flatMap({ $0.split(separator: "\n") }) { print("  \(line)") }
                if attributes.isEmpty { print("  (no attributes)") }
            }
        }
    }

    struct Unlock: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Lift a lockout after too many failed attempts.")
        @OptionGroup var options: ConfigOption
        @Argument var name: String

        func run() async throws {
            try await options.admin().unlock(name)
            print("unlocked \(name)")
        }
    }

    struct Invite: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print a single-use link to the user portal that lets the user enroll a first factor.")
        @OptionGroup var options: ConfigOption
        @Argument var name: String
        @Option(help: "How long the link works: a number with s, m, h or d (at most 30d).", transform: InviteLifetime.parse)
        var expires: TimeInterval = CountersignAdmin.invitationLifetime

        func run() async throws {
            print(try await options.admin().invite(name, lifetime: expires))
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete a user and its enrollments.")
        @OptionGroup var options: ConfigOption
        @Argument var name: String

        func run() async throws {
            try await options.admin().deleteUser(name)
            print("deleted user \(name)")
        }
    }
}

struct Group: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Manage local groups, which [[radius.reply]] rules match.", subcommands: [Add.self, Delete.self, List.self, Members.self])

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add a group.")
        @OptionGroup var options: ConfigOption
        @Argument var name: String

        func run() async throws {
            try await options.admin().addGroup(name)
            print("added group \(name)")
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete a group (its members stay users).")
        @OptionGroup var options: ConfigOption
        @Argument var name: String

        func run() async throws {
            try await options.admin().deleteGroup(name)
            print("deleted group \(name)")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List groups and their member counts.")
        @OptionGroup var options: ConfigOption
        @Flag(help: "One JSON array.") var json = false

        func run() async throws {
            let groups = try await options.admin().groups()
            if json { return try printJSON(groups) }
            for group in groups { print("\(group.name)\tmembers=\(group.memberCount)") }
        }
    }

    struct Members: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List, add or remove a group's members.", subcommands: [List.self, Add.self, Remove.self])

        struct List: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "List a group's members.")
            @OptionGroup var options: ConfigOption
            @Argument var group: String

            func run() async throws {
                for member in try await options.admin().members(ofGroup: group) { print(member) }
            }
        }

        struct Add: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Add users to a group (all or none).")
            @OptionGroup var options: ConfigOption
            @OptionGroup var change: MemberChange

            func run() async throws {
                try await options.admin().changeMembers(of: change.group, adding: change.users)
                print("added \(change.users.count) to \(change.group)")
            }
        }

        struct Remove: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Remove users from a group.")
            @OptionGroup var options: ConfigOption
            @OptionGroup var change: MemberChange

            func run() async throws {
                try await options.admin().changeMembers(of: change.group, removing: change.users)
                print("removed \(change.users.count) from \(change.group)")
            }
        }
    }
}

/// A group and the users `group members add|remove` changes it by.
struct MemberChange: ParsableArguments {
    @Argument var group: String
    @Argument(help: "One or more user names.") var users: [String]

    func validate() throws {
        guard !users.isEmpty else { throw ValidationError("name at least one user") }
    }
}

struct TOTP: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "totp", abstract: "Manage TOTP enrollment.", subcommands: [Enroll.self, Delete.self])

    struct Enroll: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Make a new TOTP secret for a user and print its otpauth:// URI (shown once), with its QR code on a terminal.")
        @OptionGroup var options: ConfigOption
        @Argument var name: String
        @Flag(help: "One JSON object with uri and secret.") var json = false
        @OptionGroup var qrCode: QRCodeOutput

        func run() async throws {
            let file = try qrCode.openFile()
            let (uri, secret) = try await options.admin().enrollTOTP(name)
            try qrCode.show(uri, file: file, drawing: !json)
            if json { return try printJSON(["uri": uri, "secret": secret]) }
            print(uri)
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove a user's TOTP enrollment.")
        @OptionGroup var options: ConfigOption
        @Argument var name: String

        func run() async throws {
            try await options.admin().deleteTOTP(name)
            print("deleted TOTP of \(name)")
        }
    }
}

struct Device: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Manage push devices (one per user).", subcommands: [Enroll.self, Delete.self])

    struct Enroll: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print a single-use enrollment link for a phone's browser and URI for `countersign-device enroll` (valid 10 minutes), with the link's QR code on a terminal.")
        @OptionGroup var options: ConfigOption
        @Argument var name: String
        @Flag(help: "One JSON object with uri, url (the link), code, fingerprint and server.") var json = false
        @OptionGroup var qrCode: QRCodeOutput

        func run() async throws {
            let file = try qrCode.openFile()
            let enrollment = try await options.admin().enrollDevice(name)
            try qrCode.show(enrollment.link, file: file, drawing: !json)
            if json {
                return try printJSON([
                    "uri": enrollment.uri, "url": enrollment.link, "code": enrollment.code,
                    "fingerprint": enrollment.fingerprint, "server": enrollment.serverURL,
                ])
            }
            // The URI last, so that `tail -n 1` (or the last line) is what countersign-device takes.
            print(enrollment.link)
            print(enrollment.uri)
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove a user's push device.")
        @OptionGroup var options: ConfigOption
        @Argument var name: String

        func run() async throws {
            try await options.admin().deleteDevice(name)
            print("deleted device of \(name)")
        }
    }
}

struct Protect: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Turn push on or off for the whole gateway.", subcommands: [Enable.self, Disable.self])

    struct Enable: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Turn push on.")
        @OptionGroup var options: ConfigOption

        func run() async throws {
            _ = try await options.admin().setPushProtection(enabled: true)
            print("push enabled")
        }
    }

    struct Disable: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Turn push off; users whose only factor is push lose access.")
        @OptionGroup var options: ConfigOption

        func run() async throws {
            let pushOnly = try await options.admin().setPushProtection(enabled: false)
            print("push disabled")
            if !pushOnly.isEmpty {
                FileHandle.standardError.write(
                    Data(
                        ("warning: these users have push as their only second factor and lose access to resources that "
                            + "require MFA: \(pushOnly.joined(separator: ", "))\n").utf8))
            }
        }
    }
}

struct Events: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show audit events, oldest first.")
    @OptionGroup var options: ConfigOption
    @Flag(help: "One JSON object per line.") var json = false
    @Flag(help: "Keep printing new events as they arrive.") var follow = false
    @Option(help: "Only this user's events.") var user: String?
    @Option(help: "Only events of this type (radius_auth, ldap_bind, user_locked, …).") var type: String?
    @Option(help: "At most the last N events.") var limit: Int?

    func run() async throws {
        let store = try options.admin().store
        var last: Int64?
        var batch = try await store.events(user: user, type: type, limit: limit ?? (follow ? 20 : nil))
        while true {
            for stored in batch { try print(stored) }
            last = batch.last?.id ?? last
            guard follow else { return }
            try await Task.sleep(for: .seconds(1))  // polling: another process (serve) writes the events
            batch = try await store.events(user: user, type: type, after: last ?? 0)
        }
    }

    private func print(_ stored: StoredEvent) throws {
        let event = stored.event
        if json { return try printJSON(EventLine(event)) }
        Swift.print(
            [
                event.time.formatted(.iso8601), event.type.rawValue, event.user ?? "-", event.resource ?? "-",
                event.clientAddress ?? "-", event.result.rawValue, event.error ?? "",
            ].joined(separator: "\t"))
    }

    /// Every key present (null when empty), so that scripts can rely on them.
    private struct EventLine: Encodable {
        let event: AuditEvent
        init(_ event: AuditEvent) { self.event = event }

        enum CodingKeys: String, CodingKey {
            case time, type, user, resource, client_address, result, error, details, node
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(event.time, forKey: .time)
            try container.encode(event.type.rawValue, forKey: .type)
            try container.encode(event.user, forKey: .user)
            try container.encode(event.resource, forKey: .resource)
            try container.encode(event.clientAddress, forKey: .client_address)
            try container.encode(event.result.rawValue, forKey: .result)
            try container.encode(event.error, forKey: .error)
            try container.encode(event.details, forKey: .details)
            try container.encode(event.node, forKey: .node)
        }
    }
}
