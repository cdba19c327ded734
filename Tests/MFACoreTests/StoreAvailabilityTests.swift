import Foundation
import Testing

@testable import MFACore

@Suite struct StoreAvailabilityTests {
    @Test func aLostStoreIsSaidOnceAnIntervalAndItsReturnOnce() {
        let availability = StoreAvailability(reminderInterval: 60)
        let start = Date(timeIntervalSince1970: 1_000_000)
        #expect(availability.checked(problem: nil, now: start) == nil)
        #expect(availability.checked(problem: "refused", now: start) == .lost("refused"))
        #expect(!availability.isAvailable)
        #expect(availability.checked(problem: "refused", now: start.addingTimeInterval(30)) == nil)
        #expect(availability.checked(problem: "refused", now: start.addingTimeInterval(60)) == .stillLost("refused"))
        #expect(availability.checked(problem: nil, now: start.addingTimeInterval(61)) == .recovered)
        #expect(availability.isAvailable)
        #expect(availability.checked(problem: nil, now: start.addingTimeInterval(62)) == nil)
    }
}
