import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOSSL

/// The transport of `countersign-device`: AsyncHTTPClient, which can trust a private CA (Foundation's URLSession
/// on Linux cannot be given one, and neither reads SSL_CERT_FILE).
public struct AsyncHTTPClientTransport: HTTPTransport {
    private var tls: TLSConfiguration

    /// The system's trusted CAs.
    public init() {
        tls = .makeClientConfiguration()
    }

    /// Only the CA certificates in the PEM file `caFile` (as SSL_CERT_FILE would), or the system's when nil.
    public init(caFile: String?) throws {
        self.init()
        guard let caFile else { return }
        let roots: [NIOSSLCertificate]
        do {
            roots = try NIOSSLCertificate.fromPEMFile(caFile)
        } catch {
            throw DeviceClientError.unusableCA(path: caFile, message: "\(error)")
        }
        guard !roots.isEmpty else { throw DeviceClientError.unusableCA(path: caFile, message: "no PEM certificate in it") }
        tls.trustRoots = .certificates(roots)
    }

    /// One client for the process, never shut down (as `HTTPClient.shared`), that fails a request at once when no
    /// connection can be made: a refused certificate is no passing glitch to retry until the request's deadline.
    private static let client: HTTPClient = {
        var configuration = HTTPClient.Configuration.singletonConfiguration
        configuration.connectionPool.retryConnectionEstablishment = false
        return HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
    }()

    /// Large enough for any device API answer (a list of pushes).
    static let maximumBodySize = 4 << 20

    public func send(_ request: HTTPRequest) async throws -> HTTPResponse {
        var outgoing = HTTPClientRequest(url: request.url.absoluteString)
        outgoing.method = HTTPMethod(rawValue: request.method)
        for (name, value) in request.headers { outgoing.headers.add(name: name, value: value) }
        if let body = request.body { outgoing.body = .bytes(ByteBuffer(bytes: body)) }
        outgoing.tlsConfiguration = tls
        do {
            let response = try await Self.client.execute(outgoing, timeout: .milliseconds(Int64(request.timeout * 1000)))
            let body = try await response.body.collect(upTo: Self.maximumBodySize)
            return HTTPResponse(status: Int(response.status.code), body: Data(body.readableBytesView))
        } catch let error as CancellationError {
            throw error
        } catch {
            // The error's own description says what failed (a TLS alert, a refused connection); Foundation's
            // localizedDescription of it would not.
            throw DeviceClientError.connection("\(error)")
        }
    }
}
