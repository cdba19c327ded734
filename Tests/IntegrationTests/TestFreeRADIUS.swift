import CountersignConfig
import Foundation

/// A real FreeRADIUS (Debian's `freeradius`) with a throw-away configuration, as the upstream server that checks
/// passwords (`primary.source = "radius"`), on a free port of 127.0.0.1 with a client entry for Countersign:
/// - carol / carol-upstream: Access-Accept with Class "upstream-class", Filter-Id "vpn-filter" and a Reply-Message;
/// - pin-user / pin-user-pw: an Access-Challenge of its own ("Enter your PIN", a State), then Access-Accept with
///   Class "pin-class" for the PIN 4321 sent back with that State.
struct TestFreeRADIUS {
    let port: Int
    let process: ChildProcess

    static let secret = "upstream-secret"
    static let executable = "/usr/sbin/freeradius"
    /// The State FreeRADIUS's challenge carries (`pin-state`).
    static let challengeState = "0x70696e2d7374617465"

    /// This server as a `[[primary.radius]]` entry.
    func server(timeout: Double = 5) -> UpstreamRADIUSSettings {
        UpstreamRADIUSSettings(host: "127.0.0.1", port: port, secret: Self.secret, timeoutSeconds: TestTimeout.scaled(timeout))
    }

    /// Starts FreeRADIUS in the foreground in a folder of its own, runs `body`, stops it.
    static func with(_ body: (TestFreeRADIUS) async throws -> Void) async throws {
        guard FileManager.default.isExecutableFile(atPath: executable) else { throw NotInstalled() }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("countersign-freeradius-\(UUID())").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let port = try freeLoopbackPort(type: Int32(SOCK_DGRAM.rawValue))
        try configuration(folder: folder, port: port).write(toFile: folder + "/radiusd.conf", atomically: true, encoding: .utf8)
        try users.write(toFile: folder + "/users", atomically: true, encoding: .utf8)
        // -X: foreground, one thread, the debug log on stdout, which says when it listens.
        let process = try ChildProcess(executable, ["-X", "-d", folder])
        guard await process.lines(where: { $0.hasPrefix("Ready to process requests") }) != nil else {
            process.signal(SIGKILL)
            throw StartFailed(output: process.output)
        }
        let server = TestFreeRADIUS(port: port, process: process)
        // SIGKILL: a child spawned from the test process inherits its blocked signals, SIGTERM among them, and
        // FreeRADIUS does not unblock them; nothing of this throw-away server needs a clean stop.
        do {
            try await body(server)
        } catch {
            process.signal(SIGKILL)
            _ = try? await process.exitStatus()
            throw error
        }
        process.signal(SIGKILL)
        _ = try await process.exitStatus()
    }

    /// No `user`/`group`: it runs as whoever runs the tests, and reads only this folder and Debian's dictionaries.
    private static func configuration(folder: String, port: Int) -> String {
        """
        prefix = /usr
        confdir = \(folder)
        raddbdir = \(folder)
        run_dir = \(folder)
        logdir = \(folder)
        libdir = /usr/lib/freeradius
        pidfile = \(folder)/radiusd.pid
        name = freeradius
        max_request_time = 30
        cleanup_delay = 5
        max_requests = 1024
        hostname_lookups = no
        log {
            destination = stdout
            auth = no
        }
        security {
            allow_core_dumps = no
            max_attributes = 200
            reject_delay = 0
            status_server = yes
        }
        client countersign {
            ipaddr = 127.0.0.1
            secret = \(secret)
            require_message_authenticator = yes
        }
        modules {
            files {
                filename = \(folder)/users
            }
            pap {
            }
            always handled {
                rcode = handled
            }
            always reject {
                rcode = reject
            }
        }
        server default {
            listen {
                type = auth
                ipaddr = 127.0.0.1
                port = \(port)
            }
            authorize {
                if (&User-Name == "pin-user") {
                    if (!&State) {
                        if (&User-Password != "pin-user-pw") {
                            reject
                        }
                        update reply {
                            &Reply-Message := "Enter your PIN"
                            &State := \(challengeState)
                        }
                        update control {
                            &Response-Packet-Type := Access-Challenge
                        }
                        handled
                    }
                    elsif (&State == \(challengeState) && &User-Password == "4321") {
                        update reply {
                            &Class := "pin-class"
                        }
                        update control {
                            &Auth-Type := Accept
                        }
                    }
                    else {
                        reject
                    }
                }
                files
                pap
            }
            authenticate {
                Auth-Type PAP {
                    pap
                }
            }
        }

        """
    }

    private static let users = """
        carol   Cleartext-Password := "carol-upstream"
                Class := "upstream-class", Filter-Id := "vpn-filter", Reply-Message := "Hello carol"

        """

    struct NotInstalled: Error, CustomStringConvertible {
        var description: String {
            "\(TestFreeRADIUS.executable) is missing: the upstream RADIUS tests need Debian's freeradius package "
                + "(Scripts/test installs it; or Scripts/install-dependencies freeradius)"
        }
    }

    struct StartFailed: Error, CustomStringConvertible {
        var output: [String]
        var description: String { "freeradius did not start:\n" + output.suffix(30).joined(separator: "\n") }
    }
}
