import Foundation

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// A plain HTTP exchange, so that the API client and the listener can be tested without a network.
public struct HTTPRequest: Sendable, Equatable {
    public var method: String
    public var url: URL
    public var headers: [String: String]
    public var body: Data?
    public var timeout: TimeInterval

    public init(method: String, url: URL, headers: [String: String] = [:], body: Data? = nil, timeout: TimeInterval = 30) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.timeout = timeout
    }
}

public struct HTTPResponse: Sendable, Equatable {
    public var status: Int
    public var body: Data

    public init(status: Int, body: Data = Data()) {
        self.status = status
        self.body = body
    }
}

public protocol HTTPTransport: Sendable {
    /// Throws only when no HTTP response arrived (connection refused, timeout, TLS failure…).
    func send(_ request: HTTPRequest) async throws -> HTTPResponse
}

/// The real transport: Foundation's URLSession.
public final class URLSessionTransport: HTTPTransport, @unchecked Sendable {
    // URLSession is thread-safe; it is only not marked Sendable in swift-corelibs-foundation.
    let session: URLSession

    public convenience init() {
        self.init(maximumConnectionsPerHost: nil)
    }

    /// `maximumConnectionsPerHost`: for a process that acts as many devices at once (the push benchmark).
    public init(maximumConnectionsPerHost: Int?) {
        let configuration = URLSessionConfiguration.ephemeral
        if let maximumConnectionsPerHost { configuration.httpMaximumConnectionsPerHost = maximumConnectionsPerHost }
        configuration.timeoutIntervalForRequest = 90
        configuration.timeoutIntervalForResource = 120
        configuration.requestCachePolicy = .reloadIgnoringLocalCacheData
        configuration.urlCache = nil
        configuration.httpCookieStorage = nil
        configuration.httpShouldSetCookies = false
        session = URLSession(configuration: configuration)
    }

    public func send(_ request: HTTPRequest) async throws -> HTTPResponse {
        var urlRequest = URLRequest(url: request.url)
        urlRequest.httpMethod = request.method
        urlRequest.timeoutInterval = request.timeout
        urlRequest.cachePolicy = .reloadIgnoringLocalCacheData
        for (name, value) in request.headers { urlRequest.setValue(value, forHTTPHeaderField: name) }
        urlRequest.httpBody = request.body
        let (data, response) = try await session.data(for: urlRequest)
        guard let http = response as? HTTPURLResponse else {
            throw DeviceClientError.badResponse("not an HTTP response")
        }
        return HTTPResponse(status: http.statusCode, body: data)
    }
}
