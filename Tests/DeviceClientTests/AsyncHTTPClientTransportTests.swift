import Foundation
import Testing

@testable import DeviceClient

/// The CA file is checked when the transport is made; its use against a real TLS server is in the integration tests.
@Suite struct AsyncHTTPClientTransportTests {
    @Test func aMissingCAFileIsRefused() throws {
        let path = NSTemporaryDirectory() + "countersign-no-such-ca-\(UUID()).pem"
        let error = #expect(throws: DeviceClientError.self) { try AsyncHTTPClientTransport(caFile: path) }
        guard case .unusableCA(path, _) = error else { return #expect(Bool(false), "\(String(describing: error))") }
    }

    @Test func aFileWithoutCertificatesIsRefused() throws {
        let dir = try Fixture.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/ca.pem"
        try Data("not a certificate\n".utf8).write(to: URL(fileURLWithPath: path))
        let error = #expect(throws: DeviceClientError.self) { try AsyncHTTPClientTransport(caFile: path) }
        guard case .unusableCA(path, _) = error else { return #expect(Bool(false), "\(String(describing: error))") }
    }

    @Test func withoutACAFileTheSystemsAreTrusted() throws {
        _ = try AsyncHTTPClientTransport(caFile: nil)
    }
}
