import Foundation

/// Single-use invitation links to the user portal, made by an admin: each lets its user enroll a first factor.
/// Only a token's SHA-256 is kept, so a copy of the database opens no invitation.
public protocol InvitationStore: Sendable {
    /// Stores the token's hash for `user` until `expires`, replacing the user's earlier invitation: the newest link
    /// alone works. Refused (`noSuchUser`) for an unknown user.
    func createInvitation(_ token: String, for user: String, expires: Date) async throws
    /// Uses up a token: the user it was made for, or nil when it is unknown, already used or expired. A token works
    /// once, also when two redeem it at the same moment.
    func redeemInvitation(_ token: String, now: Date) async throws -> String?
}
