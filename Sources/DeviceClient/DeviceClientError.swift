import DeviceProtocol
import Foundation

/// Everything that can go wrong on the device side, each with a message fit for a terminal.
public enum DeviceClientError: Error, Equatable, CustomStringConvertible, LocalizedError {
    case invalidEnrollmentURI(String)
    case invalidServerURL(String)
    case fingerprintMismatch(expected: String, actual: String)
    case invalidServerKey
    case invalidEnrollmentResponse(String)
    case enrollmentFailed(status: Int, message: String)
    case keystoreExists(path: String)
    case keystoreIO(path: String, message: String)
    case keystoreInvalid(path: String, message: String)
    /// 401/403: the server no longer accepts this device's signature (device deleted, or clock far off).
    case refused(status: Int)
    case unexpectedStatus(status: Int, message: String)
    case connection(String)
    case badResponse(String)
    case tooManyFailures(Int, last: String)
    case unusableCA(path: String, message: String)

    public var description: String {
        switch self {
        case .invalidEnrollmentURI(let why): return "invalid enrollment URI: \(why)"
        case .invalidServerURL(let url): return "invalid server URL in enrollment URI: \(url) (need http:// or https://)"
        case .fingerprintMismatch(let expected, let actual):
            return "server key fingerprint mismatch: the enrollment URI says \(expected) but the server sent a key with fingerprint \(actual); refusing to enroll (nothing saved)"
        case .invalidServerKey: return "the server sent an unusable public key; refusing to enroll (nothing saved)"
        case .invalidEnrollmentResponse(let why): return "invalid enrollment response: \(why)"
        case .enrollmentFailed(let status, let message): return "enrollment refused by the server (HTTP \(status)): \(message)"
        case .keystoreExists(let path): return "keystore \(path) already exists; use --force to replace it"
        case .keystoreIO(let path, let message): return "keystore \(path): \(message)"
        case .keystoreInvalid(let path, let message): return "keystore \(path) is invalid: \(message)"
        case .refused(let status):
            return "the server refused this device's signature (HTTP \(status)): the device was probably deleted on the server (or this machine's clock is off by more than \(DeviceAPI.timestampTolerance) s); enroll again"
        case .unexpectedStatus(let status, let message): return "unexpected HTTP status \(status) from the server: \(message)"
        case .connection(let message): return "cannot reach the server: \(message)"
        case .badResponse(let message): return "bad response from the server: \(message)"
        case .tooManyFailures(let count, let last): return "giving up after \(count) consecutive failures; last: \(last)"
        case .unusableCA(let path, let message): return "CA file \(path): \(message)"
        }
    }

    public var errorDescription: String? { description }
}
