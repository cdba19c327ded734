import Foundation

/// One decision, as written to the store and to the log. Never holds a password, code or secret.
public struct AuditEvent: Sendable, Equatable, Codable {
    public var time: Date
    public var type: AuditEventType
    public var user: String?
    public var resource: String?
    public var clientAddress: String?
    public var result: AuditResult
    public var error: String?
    public var details: [String: String]
    /// The node that wrote it (`[node] name`), filled in by the audit recorder.
    public var node: String?

    public init(
        time: Date, type: AuditEventType, user: String?, resource: String? = nil, clientAddress: String? = nil,
        result: AuditResult, error: String? = nil, details: [String: String] = [:], node: String? = nil
    ) {
        self.node = node
        self.time = time
        self.type = type
        self.user = user
        self.resource = resource
        self.clientAddress = clientAddress
        self.result = result
        self.error = error
        self.details = details
    }
}

/// Where a store puts an event's column values (a statement's parameters).
public protocol AuditColumnSink {
    mutating func appendColumn(_ value: Double)
    mutating func appendColumn(_ value: String?)
}

extension AuditEvent {
    /// How many values `appendColumns` gives.
    public static let columnCount = 9

    /// The values of the stores' `events` columns, in their order: time, type, user, resource, client_address,
    /// result, error, details, node. Inlinable, so that each store's binding is specialised rather than generic.
    @inlinable
    public func appendColumns(to sink: inout some AuditColumnSink) {
        sink.appendColumn(time.timeIntervalSince1970)
        sink.appendColumn(type.rawValue)
        sink.appendColumn(user)
        sink.appendColumn(resource)
        sink.appendColumn(clientAddress)
        sink.appendColumn(result.rawValue)
        sink.appendColumn(error)
        sink.appendColumn(StoredEvent.encodeDetails(details))
        sink.appendColumn(node)
    }
}

public struct AuditEventType: RawRepresentable, Hashable, Sendable, Codable, CustomStringConvertible {
    public var rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public var description: String { rawValue }

    public static let radiusAuth = Self(rawValue: "radius_auth")
    public static let ldapBind = Self(rawValue: "ldap_bind")
    public static let apiAuth = Self(rawValue: "api_auth")
    /// Written before logins' events carried their factor (`details.factor = "totp"`); still found in older stores.
    public static let totpAttempt = Self(rawValue: "totp_mfa_attempt")
    public static let totpEnrolled = Self(rawValue: "totp_enrolled")
    public static let totpDeleted = Self(rawValue: "totp_deleted")
    public static let pushAttempt = Self(rawValue: "push_mfa_attempt")
    public static let pushAttemptFailed = Self(rawValue: "push_mfa_attempt_failed")
    public static let pushApproved = Self(rawValue: "push_mfa_approved")
    public static let pushDenied = Self(rawValue: "push_mfa_denied")
    public static let pushTimeout = Self(rawValue: "push_mfa_timeout")
    public static let pushAnswerRefused = Self(rawValue: "push_answer_refused")
    public static let deviceEnrolled = Self(rawValue: "device_enrolled")
    public static let deviceDeleted = Self(rawValue: "device_deleted")
    public static let pushProtectionChanged = Self(rawValue: "push_protection_changed")
    public static let userLocked = Self(rawValue: "user_locked")
    public static let userUnlocked = Self(rawValue: "user_unlocked")
    public static let userAdded = Self(rawValue: "user_added")
    public static let userDeleted = Self(rawValue: "user_deleted")
    public static let passwordChanged = Self(rawValue: "password_changed")
    public static let userImport = Self(rawValue: "user_import")
    /// A RADIUS client's failed attempts emptied its bucket: its requests are refused undecided for a while.
    public static let clientRateLimited = Self(rawValue: "client_rate_limited")
    public static let userExport = Self(rawValue: "user_export")
    public static let groupAdded = Self(rawValue: "group_added")
    public static let groupDeleted = Self(rawValue: "group_deleted")
    /// Members added to or removed from a group: `details` names the group and the change.
    public static let groupMembersChanged = Self(rawValue: "group_members_changed")
    /// Console admin accounts (`countersign admin add|delete`).
    public static let adminAdded = Self(rawValue: "admin_added")
    public static let adminDeleted = Self(rawValue: "admin_deleted")
    /// A sign-in to the admin console, its password or its code; `error` says which failed, never what was typed.
    public static let adminSignIn = Self(rawValue: "admin_sign_in")
    /// A console setting changed: `details` name the setting and its values before and after.
    public static let settingsChanged = Self(rawValue: "settings_changed")
    /// The user portal: a sign-in (its password and code through the MFA core), an invitation made or opened, and
    /// what a user did to their own factors (`details` says what).
    public static let portalSignIn = Self(rawValue: "portal_sign_in")
    public static let invitationCreated = Self(rawValue: "invitation_created")
    public static let invitationRedeemed = Self(rawValue: "invitation_redeemed")
    public static let portalAction = Self(rawValue: "portal_action")

    /// The event that closes a login on this kind of resource.
    public static func login(_ kind: Resource.Kind) -> Self {
        switch kind {
        case .radius: .radiusAuth
        case .ldap: .ldapBind
        case .api: .apiAuth
        case .portal: .portalSignIn
        }
    }
}

public enum AuditResult: String, Sendable, Codable, Equatable {
    case success, failure, challenge
}

extension AuditEvent {
    /// A source's failure bucket has run empty (`FailureBucket.Admission.limitBegan`): once per limiting episode.
    public static func clientRateLimited(
        at time: Date, resource: Resource, clientAddress: String, settings: FailureBucket.Settings
    ) -> AuditEvent {
        AuditEvent(
            time: time, type: .clientRateLimited, user: nil, resource: resource.description, clientAddress: clientAddress,
            result: .failure, error: "too_many_failures",
            details: ["rate": "\(Int(settings.rate))", "burst": "\(Int(settings.burst))"])
    }
}

/// Where events go (the store and the log, in the app).
public protocol AuditSink: Sendable {
    func record(_ event: AuditEvent) async
}
