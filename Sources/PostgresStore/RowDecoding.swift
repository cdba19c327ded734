import DeviceProtocol
import Foundation
import MFACore
import PostgresNIO

/// The store's records read back from rows; the column lists they need are beside them.
extension EnrolledDevice {
    /// The device columns of `devices` under names that do not clash with the users table's.
    static let columns = [
        "id AS device_id", "username AS device_user", "public_key", "name AS device_name", "platform", "enrolled_at",
        "last_used", "webauthn_credential_id", "webauthn_public_key",
    ]
    .map { "devices." + $0 }.joined(separator: ", ")

    /// Nil when the row has no device (a LEFT JOIN that found none).
    init?(row: PostgresRandomAccessRow) throws {
        guard let id = try row.get("device_id", as: String?.self) else { return nil }
        self.init(
            id: id, username: try row.get("device_user"), publicKey: try row.get("public_key"), name: try row.get("device_name"),
            platform: try row.get("platform"), enrolledAt: Date(timeIntervalSince1970: try row.get("enrolled_at")),
            lastUsed: try row.get("last_used", as: Double?.self).map(Date.init(timeIntervalSince1970:)),
            webAuthn: try WebAuthnCredential(idColumn: "webauthn_credential_id", keyColumn: "webauthn_public_key", row: row))
    }
}

extension WebAuthnCredential {
    init?(idColumn: String, keyColumn: String, row: PostgresRandomAccessRow) throws {
        guard let id = try row.get(idColumn, as: String?.self), let key = try row.get(keyColumn, as: String?.self) else { return nil }
        self.init(id: id, publicKey: key)
    }
}

extension UserSummary {
    static let query = """
        SELECT users.name, users.password_hash IS NOT NULL AS has_password, users.created_at,
            users.totp_secret IS NOT NULL AS totp, users.totp_enrolled_at, users.locked_until, \(EnrolledDevice.columns)
        FROM users LEFT JOIN devices ON devices.username = users.name
        """

    init(row: PostgresRandomAccessRow) throws {
        self.init(
            name: try row.get("name"), hasPassword: try row.get("has_password"),
            createdAt: Date(timeIntervalSince1970: try row.get("created_at")), totpEnrolled: try row.get("totp"),
            totpEnrolledAt: try row.get("totp_enrolled_at", as: Double?.self).map(Date.init(timeIntervalSince1970:)),
            device: try EnrolledDevice(row: row),
            lockedUntil: try row.get("locked_until", as: Double?.self).map(Date.init(timeIntervalSince1970:)))
    }
}

extension StoredEvent {
    init(row: PostgresRandomAccessRow) throws {
        self.init(
            id: try row.get("id"),
            event: AuditEvent(
                time: Date(timeIntervalSince1970: try row.get("time")), type: AuditEventType(rawValue: try row.get("type")),
                user: try row.get("username"), resource: try row.get("resource"), clientAddress: try row.get("client_address"),
                result: AuditResult(rawValue: try row.get("result")) ?? .failure, error: try row.get("error"),
                details: Self.decodeDetails(try row.get("details")), node: try row.get("node")))
    }
}

extension StoredChallenge {
    init(row: PostgresRandomAccessRow) throws {
        guard let kind = Resource.Kind(rawValue: try row.get("resource_kind")) else {
            throw StoreError(.io, "a challenge in the database has an unknown resource kind")
        }
        self.init(
            username: try row.get("username"), resource: Resource(kind: kind, name: try row.get("resource_name")),
            clientAddress: try row.get("client_address"), expires: Date(timeIntervalSince1970: try row.get("expires")),
            pushID: try row.get("push_id"), grant: try Self.grant(try row.get("grant_json")),
            primaryState: try row.bytes("primary_state"))
    }

    private static func grant(_ json: String?) throws -> Grant {
        guard let json else { return Grant() }
        do { return try JSONDecoder().decode(Grant.self, from: Data(json.utf8)) } catch {
            throw StoreError(.io, "a challenge in the database has a grant that cannot be read")
        }
    }
}

extension SharedPush {
    init(row: PostgresRandomAccessRow) throws {
        let json: String = try row.get("message")
        guard let kind = Resource.Kind(rawValue: try row.get("resource_kind")),
            let message = try? JSONDecoder().decode(PushMessage.self, from: Data(json.utf8))
        else { throw StoreError(.io, "a push in the database cannot be read") }
        self.init(
            message: message, devicePublicKey: try row.get("device_public_key"),
            webAuthn: try WebAuthnCredential(idColumn: "webauthn_credential_id", keyColumn: "webauthn_public_key", row: row),
            resource: Resource(kind: kind, name: try row.get("resource_name")), joinKey: try row.get("join_key"),
            numberMatching: try row.get("number_matching"),
            outcome: try row.get("outcome", as: String?.self).flatMap(PushCoordinator.Outcome.init(rawValue:)),
            number: try row.get("number"))
    }
}
