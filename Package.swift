// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "countersign",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "countersign", targets: ["countersign"]),
        .executable(name: "countersign-device", targets: ["countersign-device"]),
        .executable(name: "countersign-bench", targets: ["countersign-bench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.5.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/LebJe/TOMLKit.git", from: "0.6.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-asn1.git", from: "1.7.4"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-certificates.git", from: "1.21.1"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift.git", from: "0.2.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.5.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache.git", from: "2.1.1"),
    ],
    targets: [
        // HMAC keyed once, fed through the hash functions' non-generic update (RADIUS's Message-Authenticator, TOTP).
        .target(name: "KeyedHash", dependencies: [.product(name: "Crypto", package: "swift-crypto")]),
        // RADIUS wire codec: pure functions on bytes, no I/O.
        .target(
            name: "RADIUSCodec",
            dependencies: ["KeyedHash", .product(name: "Crypto", package: "swift-crypto")]
        ),
        // The device API's wire format and signed messages, shared by the server and countersign-device.
        .target(
            name: "DeviceProtocol",
            dependencies: [.product(name: "Crypto", package: "swift-crypto")]
        ),
        // LDAP wire codec (RFC 4511 subset) on swift-asn1's BER: pure functions on bytes, no I/O.
        .target(name: "LDAPCodec", dependencies: [.product(name: "SwiftASN1", package: "swift-asn1")]),
        // The protocol-agnostic decision: primary check, second factor, verdict, audit events.
        .target(
            name: "MFACore",
            dependencies: [
                "DeviceProtocol", "KeyedHash",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The embedded store (one node): the MFA core's store protocols on SQLite through GRDB, group commit, migrations.
        .target(
            name: "SQLiteStore",
            dependencies: [
                "MFACore",
                "DeviceProtocol",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        // The shared store (several nodes): the MFA core's store protocols, challenges and the push cluster on PostgreSQL
        // through postgres-nio, with migrations, LISTEN/NOTIFY and short timeouts on the login path.
        .target(
            name: "PostgresStore",
            dependencies: [
                "MFACore",
                "DeviceProtocol",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]
        ),
        // Bulk import files (CSV, JSON, FreeRADIUS users) read as streams and checked line by line; export rows.
        .target(name: "UserImport", dependencies: ["MFACore"]),
        // Nayuki's QR Code generator in C, from Debian's libqrcodegen-dev.
        .systemLibrary(name: "CQRCodeGen", pkgConfig: "qrcodegen", providers: [.apt(["libqrcodegen-dev"])]),
        // QR codes of enrollment URIs and links, drawn for a terminal or as SVG.
        .target(name: "QRCode", dependencies: ["CQRCodeGen"]),
        // The configuration file: model, TOML loading, validation.
        .target(
            name: "CountersignConfig",
            dependencies: [.product(name: "TOMLKit", package: "TOMLKit")]
        ),
        // What the network services share: binding their listeners all or none, closing them at shutdown.
        .target(
            name: "ServerSupport",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // UDP and RadSec listeners, client table, duplicate cache, request → MFA core → reply.
        .target(
            name: "RADIUSServer",
            dependencies: [
                "RADIUSCodec",
                "ServerSupport",
                "MFACore",
                "CountersignConfig",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOTLS", package: "swift-nio"),
                // The names in a RadSec client's certificate (subject common name, DNS subjectAltNames).
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // The web authenticator: static HTML, CSS, JavaScript and icons, embedded in the binary, and their routes.
        .target(
            name: "WebUI",
            dependencies: [
                .product(name: "Hummingbird", package: "hummingbird"), .product(name: "HTTPTypes", package: "swift-http-types"),
            ],
            resources: [
                .embedInCode("Files/authenticator.html"), .embedInCode("Files/authenticator.css"),
                .embedInCode("Files/authenticator.js"), .embedInCode("Files/sw.js"),
                .embedInCode("Files/manifest.webmanifest"), .embedInCode("Files/icon.svg"),
                .embedInCode("Files/icon-192.png"), .embedInCode("Files/icon-512.png"),
            ]
        ),
        // The admin console at /admin: signed session cookies, CSRF and origin checks, sign-in with password and TOTP,
        // and server-rendered pages (Mustache templates embedded in the binary).
        .target(
            name: "WebConsole",
            dependencies: [
                "WebUI", "MFACore", "DeviceProtocol", "QRCode",
                .product(name: "Hummingbird", package: "hummingbird"), .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Mustache", package: "swift-mustache"), .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ],
            resources: [
                .embedInCode("Templates/layout.mustache"), .embedInCode("Templates/sign-in.mustache"),
                .embedInCode("Templates/code.mustache"), .embedInCode("Templates/users.mustache"),
                .embedInCode("Templates/user.mustache"), .embedInCode("Templates/user-actions.mustache"),
                .embedInCode("Files/console.css"), .embedInCode("Files/console.js"),
                .embedInCode("Templates/settings.mustache"), .embedInCode("Templates/events.mustache"),
                .embedInCode("Files/events.js"),
                .embedInCode("Templates/portal-layout.mustache"), .embedInCode("Templates/portal-sign-in.mustache"),
                .embedInCode("Templates/portal-code.mustache"), .embedInCode("Templates/portal-invite.mustache"),
                .embedInCode("Templates/portal-factors.mustache"), .embedInCode("Templates/portal-totp.mustache"),
                .embedInCode("Templates/portal-device.mustache"), .embedInCode("Files/portal.js"),
                .embedInCode("Templates/invitation.mustache"),
            ]
        ),
        // HTTP: the device API (enroll, receive pushes, answer), the auth API for other resources, the web
        // authenticator's files, the admin console, and the push webhooks.
        .target(
            name: "CountersignHTTP",
            dependencies: [
                "DeviceProtocol",
                "WebUI",
                "WebConsole",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                "MFACore",
                "CountersignConfig",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The LDAP bind proxy: TCP/TLS listener, bind interception, the upstream directory connection, and the
        // directory as primary password check for RADIUS.
        .target(
            name: "LDAPProxy",
            dependencies: [
                "LDAPCodec",
                "ServerSupport",
                "MFACore",
                "CountersignConfig",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // The upstream RADIUS server as primary password check: a RADIUS client over UDP with failover, and the verifier.
        .target(
            name: "RADIUSUpstream",
            dependencies: [
                "RADIUSCodec",
                "MFACore",
                "CountersignConfig",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // Wiring: builds the running gateway and the admin operations from a configuration.
        .target(
            name: "CountersignApp",
            dependencies: [
                "CountersignConfig",
                .product(name: "Crypto", package: "swift-crypto"),
                "SQLiteStore",
                "PostgresStore",
                "CountersignHTTP",
                "WebConsole",
                "DeviceProtocol",
                "LDAPProxy",
                "MFACore",
                "RADIUSServer",
                "RADIUSUpstream",
                "UserImport",
                "RADIUSCodec",
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
        .executableTarget(
            name: "countersign",
            dependencies: [
                "CountersignApp",
                "CountersignConfig",
                "CountersignHTTP",
                "MFACore",
                "QRCode",
                "UserImport",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                // `countersign status` asks the gateway's HTTP listener, which may serve HTTPS.
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                // Whatever the libraries record through swift-metrics lands beside the gateway's own metrics.
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
        // The device side of the push protocol: keystore, signed API calls, the listen loop.
        .target(
            name: "DeviceClient",
            dependencies: [
                "DeviceProtocol",
                .product(name: "Crypto", package: "swift-crypto"),
                // For a private CA's trust (Foundation's URLSession on Linux has no way to add one).
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]
        ),
        // The reference authenticator.
        .executableTarget(
            name: "countersign-device",
            dependencies: ["DeviceClient", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        // The load generator of BENCHMARKS.md: RADIUS workloads, the push fleet and LDAP binds, with latency histograms.
        .executableTarget(
            name: "countersign-bench",
            dependencies: [
                "RADIUSCodec",
                "MFACore",
                "LDAPCodec",
                "DeviceClient",
                "DeviceProtocol",
                "CountersignApp",
                "CountersignConfig",
                .product(name: "Histogram", package: "hdrhistogram-swift"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(
            name: "DeviceClientTests",
            dependencies: ["DeviceClient", "DeviceProtocol", .product(name: "Crypto", package: "swift-crypto")]
        ),
        .testTarget(name: "LDAPCodecTests", dependencies: ["LDAPCodec"]),
        .testTarget(
            name: "LDAPProxyTests",
            dependencies: ["LDAPProxy", "LDAPCodec", "MFACore", "CountersignConfig", .product(name: "Logging", package: "swift-log")]),
        .testTarget(name: "QRCodeTests", dependencies: ["QRCode"]),
        .testTarget(name: "WebConsoleTests", dependencies: ["WebConsole"]),
        .testTarget(name: "RADIUSCodecTests", dependencies: ["RADIUSCodec"]),
        .testTarget(name: "KeyedHashTests", dependencies: ["KeyedHash", .product(name: "Crypto", package: "swift-crypto")]),
        .testTarget(
            name: "RADIUSServerTests",
            dependencies: [
                "RADIUSServer", "RADIUSCodec", "MFACore", "CountersignConfig", .product(name: "NIOCore", package: "swift-nio"),
                "ServerSupport", .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOTestUtils", package: "swift-nio"), .product(name: "NIOTLS", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "RADIUSUpstreamTests",
            dependencies: [
                "RADIUSUpstream", "RADIUSCodec", "MFACore", "CountersignConfig", .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"), .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        .testTarget(
            name: "MFACoreTests", dependencies: ["MFACore", "DeviceProtocol", "LogCapture", .product(name: "Logging", package: "swift-log")]),
        // The tests' capturing log handler, shared by the suites that check what is logged.
        .target(name: "LogCapture", dependencies: [.product(name: "Logging", package: "swift-log")], path: "Tests/Support/LogCapture"),
        .testTarget(
            name: "SQLiteStoreTests",
            dependencies: ["SQLiteStore", "MFACore", "DeviceProtocol", .product(name: "GRDB", package: "GRDB.swift")]),
        // One contract suite, every test run against each backend (SQLite in memory, PostgreSQL from Scripts/postgres).
        .testTarget(
            name: "StoreContractTests",
            dependencies: [
                "SQLiteStore", "PostgresStore", "MFACore", "DeviceProtocol",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        .testTarget(name: "CountersignConfigTests", dependencies: ["CountersignConfig"]),
        .testTarget(name: "UserImportTests", dependencies: ["UserImport", "CountersignApp", "SQLiteStore", "MFACore"]),
        .testTarget(
            name: "IntegrationTests",
            dependencies: [
                "CountersignApp", "SQLiteStore", "RADIUSCodec", "RADIUSServer", "RADIUSUpstream", "LDAPCodec", "LDAPProxy", "MFACore",
                "DeviceProtocol", "CountersignHTTP", "WebConsole",
                "UserImport", "LogCapture",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Hummingbird", package: "hummingbird"),
                // The RadSec tests' own TLS client.
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "GRDB", package: "GRDB.swift"),
            ]
        ),
    ]
)

// libFuzzer targets for the two wire decoders, built only by Scripts/fuzz (COUNTERSIGN_FUZZ=1), so normal builds and
// CI never compile them. They need `-sanitize=fuzzer` (libFuzzer supplies main) and `-parse-as-library`.
if Context.environment["COUNTERSIGN_FUZZ"] != nil {
    package.products += [
        .executable(name: "RADIUSDecoderFuzzer", targets: ["RADIUSDecoderFuzzer"]),
        .executable(name: "LDAPDecoderFuzzer", targets: ["LDAPDecoderFuzzer"]),
    ]
    package.targets += [
        .executableTarget(
            name: "RADIUSDecoderFuzzer", dependencies: ["RADIUSCodec"], path: "Fuzz", exclude: ["LDAPDecoderFuzzer.swift"]),
        .executableTarget(
            name: "LDAPDecoderFuzzer", dependencies: ["LDAPCodec"], path: "Fuzz", exclude: ["RADIUSDecoderFuzzer.swift"]),
    ]
}
