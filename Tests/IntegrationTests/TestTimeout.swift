import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// How long tests wait for a peer, scaled by `COUNTERSIGN_TEST_TIMEOUT_SCALE` (at least 1; Scripts/sanitizers sets
/// it, as a sanitizer makes the gateway and the tools several times slower). These waits only guard against a hang
/// or show an expected silence: a longer one never changes what a test checks.
enum TestTimeout {
    static let scale: Double = {
        guard let text = ProcessInfo.processInfo.environment["COUNTERSIGN_TEST_TIMEOUT_SCALE"], let value = Double(text),
            value >= 1
        else { return 1 }
        return value
    }()

    static func scaled(_ seconds: Double) -> Double { seconds * scale }

    /// SO_RCVTIMEO of `seconds`, scaled, on a test's own socket.
    static func setReceiveTimeout(_ fd: Int32, _ seconds: Double) {
        let scaled = scaled(seconds)
        var timeout = timeval(tv_sec: Int(scaled), tv_usec: Int(scaled.truncatingRemainder(dividingBy: 1) * 1_000_000))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }
}
