import DeviceProtocol
import Foundation
import MFACore
import WebConsole

/// Portal invitations and the device links the portal hands out.
extension CountersignAdmin: PortalDeviceLinks {
    public static let invitationLifetime = UserPortal.invitationLifetime

    /// A single-use link to the user portal that lets `name` enroll a first factor until it expires:
    /// `{public_url}/portal/invite#TOKEN`. The token (256 random bits) is in the fragment, which no server log sees;
    /// the store keeps its SHA-256 only.
    public func invite(_ name: String, lifetime: TimeInterval = UserPortal.invitationLifetime) async throws -> String {
        let token = Base64URL.encode(SecureRandom.bytes(32))
        let expires = clock.now().addingTimeInterval(lifetime)
        try await store.createInvitation(token, for: name, expires: expires)
        await audit.record(
            AuditEvent(
                time: clock.now(), type: .invitationCreated, user: name, resource: actor, result: .success,
                details: ["expires": "\(Int(expires.timeIntervalSince1970))"]))
        return Self.invitationLink(publicURL: publicURL, token: token)
    }

    static func invitationLink(publicURL: String, token: String) -> String {
        var base = publicURL
        while base.hasSuffix("/") { base.removeLast() }
        return base + "/portal/invite#" + token
    }

    public func invite(_ name: String, actor: String) async throws -> String {
        try await acting(as: actor).invite(name)
    }

    public func deviceEnrollmentLink(for user: String) async throws -> String {
        try await enrollDevice(user).link
    }
}
