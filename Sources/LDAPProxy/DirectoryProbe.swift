import CountersignConfig
import NIOCore
import NIOPosix

/// Whether the directory of `[ldap.upstream]` takes a TCP connection: what `/readyz` asks when the LDAP proxy or the
/// LDAP password check depends on it.
public enum DirectoryProbe {
    /// Nil when a connection opens within `timeoutSeconds` (then closed at once), else why not.
    public static func problem(
        of settings: LDAPUpstreamSettings, timeoutSeconds: Int64,
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) async -> String? {
        guard let host = settings.host, let port = settings.port else { return "no directory URL" }
        do {
            let channel = try await ClientBootstrap(group: group).connectTimeout(.seconds(timeoutSeconds)).connect(host: host, port: port).get()
            try? await channel.close()
            return nil
        } catch {
            return "\(host):\(port) unreachable: \(error)"
        }
    }
}
