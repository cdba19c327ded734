import ArgumentParser
import Foundation

/// `countersign admin …`: the accounts that sign in to the admin console at `/admin`.
struct AdminAccounts: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "admin", abstract: "Manage the admin console's accounts (TOTP is set up at the first sign-in).",
        subcommands: [Add.self, List.self, Delete.self])

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add an admin, with a password read from stdin.")
        @OptionGroup var options: ConfigOption
        @Argument var name: String
        @OptionGroup var password: RequiredPasswordInput

        func run() async throws {
            try await options.admin().addAdmin(name, password: password.read())
            print("added admin \(name): sign in at /admin, where a first sign-in sets up TOTP")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List admins and whether their TOTP is set up.")
        @OptionGroup var options: ConfigOption
        @Flag(help: "One JSON array.") var json = false

        func run() async throws {
            let admins = try await options.admin().admins()
            if json { return try printJSON(admins) }
            for admin in admins {
                let locked = admin.lockedUntil.map { $0 > Date() ? "\tlocked until \($0.formatted(.iso8601))" : "" } ?? ""
                print("\(admin.name)\ttotp=\(admin.totpConfirmed ? "set up" : "at first sign-in")\(locked)")
            }
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete an admin (their console sessions end at once).")
        @OptionGroup var options: ConfigOption
        @Argument var name: String

        func run() async throws {
            try await options.admin().deleteAdmin(name)
            print("deleted admin \(name)")
        }
    }
}
