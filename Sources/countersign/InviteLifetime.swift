import ArgumentParser
import Foundation

/// `--expires 7d`: a whole number and a unit.
enum InviteLifetime {
    static let longest: TimeInterval = 30 * 86400

    static func parse(_ text: String) throws -> TimeInterval {
        let units: [Character: TimeInterval] = ["s": 1, "m": 60, "h": 3600, "d": 86400]
        guard let unit = text.last.flatMap({ units[$0] }), let count = Int(text.dropLast()), count > 0,
            TimeInterval(count) * unit <= longest
        else { throw ValidationError("--expires takes a number and s, m, h or d, at most 30d (such as 7d)") }
        return TimeInterval(count) * unit
    }
}
