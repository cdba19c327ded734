/// A UDP address to listen on: `host:port`, IPv6 written `[::1]:1812`.
public struct ListenAddress: Sendable, Equatable, CustomStringConvertible {
    /// A literal IPv4/IPv6 address (without brackets) or `localhost`.
    public var host: String
    /// 0...65535; 0 asks the system for a free port (used by tests).
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// Parses `host:port`; nil when malformed or out of range.
    public init?(_ text: String) {
        guard case .success(let address) = Self.parse(text) else { return nil }
        self = address
    }

    /// `127.0.0.1:1812`, `[::1]:1812`.
    public var description: String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }

    static let portRange = 0...65535

    /// Parses `host:port`; the failure is a message for the configuration error.
    static func parse(_ text: String) -> Result<ListenAddress, ConfigurationError> {
        let host: Substring
        let portText: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]"), text[text.index(after: close)...].hasPrefix(":") else {
                return .failure(syntax(text))
            }
            host = text[text.index(after: text.startIndex)..<close]
            portText = text[text.index(close, offsetBy: 2)...]
            guard host.contains(":") else { return .failure(syntax(text)) }
        } else {
            // An unbracketed IPv6 address is ambiguous (is the last group the port?), so it is refused.
            let parts = text.split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count == 2 else { return .failure(syntax(text)) }
            host = parts[0]
            portText = parts[1]
        }
        guard !portText.isEmpty, portText.count <= 18, portText.allSatisfy({ $0.isASCII && $0.isNumber }),
              let port = Int(portText)
        else {
            return .failure(ConfigurationError(code: .invalidValue, message: "port in \"\(text)\" is not a number"))
        }
        guard portRange.contains(port) else {
            return .failure(ConfigurationError(
                code: .outOfRange, message: "port must be between 0 and 65535, got \(port)"))
        }
        let address = ListenAddress(host: String(host), port: port)
        guard address.hasValidHost else {
            return .failure(ConfigurationError(
                code: .invalidValue,
                message: "host \"\(host)\" must be a literal IPv4/IPv6 address or \"localhost\""))
        }
        return .success(address)
    }

    /// `localhost`, 127.0.0.0/8 or ::1 (also IPv4-mapped): reachable from this machine only.
    public var isLoopback: Bool {
        if host == "localhost" { return true }
        guard let octets = IPNetwork.parseAddress(host) else { return false }
        switch octets.count {
        case 4: return octets[0] == 127
        case 16:
            if octets == [UInt8](repeating: 0, count: 15) + [1] { return true }
            return octets.prefix(12) == [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff] && octets[12] == 127
        default: return false
        }
    }

    /// No DNS at startup: only literals and `localhost` are accepted.
    var hasValidHost: Bool {
        host == "localhost" || IPNetwork.parseAddress(host) != nil
    }

    private static func syntax(_ text: String) -> ConfigurationError {
        ConfigurationError(
            code: .invalidValue,
            message: "expected \"host:port\" (IPv6 as \"[::1]:1812\"), got \"\(text)\"")
    }
}
