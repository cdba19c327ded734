import Foundation
import DeviceProtocol

/// The reply to `Approve? [y/N]`: only "y" or "yes" (any case, surrounding blanks ignored) approves.
public enum PushDecisionParser {
    public static func parse(_ reply: String?) -> PushDecision {
        guard let reply else { return .deny }
        switch reply.trimmingCharacters(in: .whitespaces).lowercased() {
        case "y", "yes": return .approve
        default: return .deny
        }
    }
}
