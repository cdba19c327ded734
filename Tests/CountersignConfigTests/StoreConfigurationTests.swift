import Foundation
import Testing

@testable import CountersignConfig

@Suite("Store backends")
struct StoreConfigurationTests {
    @Test func sqliteIsTheDefault() throws {
        let config = try parse(minimalClient)
        #expect(config.store.backend == .sqlite)
        #expect(config.store.postgresql == nil)
    }

    @Test func theCredentialsCacheIsSizedOrTurnedOff() throws {
        #expect(try parse(minimalClient).store.credentialsCache == 100_000)
        #expect(try parse("[store]\ncredentials_cache = 0\n" + minimalClient).store.credentialsCache == 0)
        #expect(try parse("[store]\ncredentials_cache = 5000\n" + minimalClient).store.credentialsCache == 5000)
        #expect(throws: (any Error).self) { try parse("[store]\ncredentials_cache = -1\n" + minimalClient) }
    }

    @Test func postgresqlWithEveryKey() throws {
        let config = try parse(
            """
            [store]
            backend = "postgresql"
            url = "postgresql://countersign@db.example.com:6432/mfa"
            password_file = "secrets/db-password"
            tls = "require"
            ca = "/etc/ssl/db-ca.pem"
            key_path = "keys/store.key"
            """ + "\n" + minimalClient, base: "/etc/countersign")
        #expect(config.store.backend == .postgresql)
        #expect(config.store.keyPath == "/etc/countersign/keys/store.key")
        let server = try #require(config.store.postgresql)
        #expect(server.host == "db.example.com")
        #expect(server.port == 6432)
        #expect(server.username == "countersign")
        #expect(server.database == "mfa")
        #expect(server.passwordFile == "/etc/countersign/secrets/db-password")
        #expect(server.tls == .require)
        #expect(server.caPath == "/etc/ssl/db-ca.pem")
    }

    @Test func postgresqlDefaults() throws {
        let config = try parse("[store]\nbackend = \"postgresql\"\nurl = \"postgres://cs@[::1]/cs%2Ddb\"\n" + minimalClient)
        let server = try #require(config.store.postgresql)
        #expect(server.host == "::1")
        #expect(server.port == 5432)
        #expect(server.database == "cs-db")
        #expect(server.tls == .prefer)
        #expect(server.passwordFile == nil && server.caPath == nil)
        // Every node needs the same key: it is not named after a database file.
        #expect(config.store.keyPath == "/etc/countersign/countersign.key")
        #expect(server.url == "postgresql://cs@[::1]:5432/cs-db")
    }

    @Test func theURLIsRequired() {
        let error = parseError("[store]\nbackend = \"postgresql\"\n" + minimalClient)
        #expect(error?.code == .missingKey)
        #expect(error?.key == "store.url")
    }

    @Test func aPasswordInTheURLIsRefusedWithoutRepeatingIt() {
        for url in ["postgresql://cs:hunter2@db/mfa", "postgresql://cs:hun/ter2@db/mfa", "postgres://cs:hunter2@db:5432/mfa?x=1"] {
            let error = parseError("[store]\nbackend = \"postgresql\"\nurl = \"\(url)\"\n" + minimalClient)
            #expect(error?.code == .invalidValue)
            #expect(error?.key == "store.url")
            #expect(error?.message.contains("COUNTERSIGN_DATABASE_PASSWORD") == true)
            #expect(error?.description.contains("hunter2") == false)
            #expect(error?.description.contains("hun/ter2") == false)
        }
    }

    @Test(arguments: [
        "mysql://cs@db/mfa", "postgresql://db/mfa", "postgresql://cs@db", "postgresql://cs@db/", "postgresql://cs@/mfa",
        "postgresql://cs@db:0/mfa", "postgresql://cs@db:99999/mfa", "postgresql://cs@db:x/mfa", "postgresql://cs@[db]/mfa",
        "postgresql://cs@db/mfa?sslmode=require", "postgresql://cs@db/a/b",
    ])
    func malformedURLsAreRefused(_ url: String) {
        let error = parseError("[store]\nbackend = \"postgresql\"\nurl = \"\(url)\"\n" + minimalClient)
        #expect(error?.code == .invalidValue)
        #expect(error?.key == "store.url")
    }

    @Test func keysOfTheOtherBackendAreRefused() {
        let sqlite = parseError("[store]\nurl = \"postgresql://cs@db/mfa\"\n" + minimalClient)
        #expect(sqlite?.key == "store.url")
        #expect(sqlite?.message.contains("postgresql") == true)
        let postgresql = parseError(
            "[store]\nbackend = \"postgresql\"\nurl = \"postgresql://cs@db/mfa\"\npath = \"cs.db\"\n" + minimalClient)
        #expect(postgresql?.key == "store.path")
        #expect(postgresql?.message.contains("sqlite") == true)
    }

    @Test func badValuesNameTheirKey() {
        let base = "[store]\nbackend = \"postgresql\"\nurl = \"postgresql://cs@db/mfa\"\n"
        #expect(parseError("[store]\nbackend = \"mysql\"\n" + minimalClient)?.key == "store.backend")
        #expect(parseError(base + "tls = \"always\"\n" + minimalClient)?.key == "store.tls")
        #expect(parseError(base + "tls = \"disable\"\nca = \"ca.pem\"\n" + minimalClient)?.key == "store.ca")
        #expect(parseError(base + "password_file = \"\"\n" + minimalClient)?.key == "store.password_file")
        #expect(parseError(base + "ca = 1\n" + minimalClient)?.code == .wrongType)
    }
}
