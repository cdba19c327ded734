import Testing

@testable import MFACore

@Suite struct LockedTests {
    @Test func concurrentUpdatesAreSerialised() async {
        let counter = Locked(0)
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<8 {
                group.addTask { for _ in 0..<1000 { counter.withLock { $0 += 1 } } }
            }
        }
        #expect(counter.withLock { $0 } == 8000)
    }

    struct Refused: Error, Equatable {}

    @Test func anErrorLeavesTheLockFreeAndTheValueAsTheBodyLeftIt() {
        let value = Locked([1])
        #expect(throws: Refused()) {
            try value.withLock { (numbers: inout [Int]) throws(Refused) in
                numbers.append(2)
                throw Refused()
            }
        }
        #expect(value.withLock { $0 } == [1, 2])
    }
}
