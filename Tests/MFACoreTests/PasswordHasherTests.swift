import Testing

@testable import MFACore

@Suite struct PasswordHasherTests {
    let hasher = PasswordHasher(cost: .testing)

    @Test func verifiesTheRightPasswordOnly() throws {
        let hash = try hasher.hash("correct horse")
        #expect(hash.hasPrefix("$scrypt$ln=4,r=8,p=1$"))
        #expect(hasher.verify("correct horse", against: hash))
        #expect(!hasher.verify("correct horsE", against: hash))
        #expect(!hasher.verify("", against: hash))
    }

    @Test func saltsEachHash() throws {
        #expect(try hasher.hash("same") != hasher.hash("same"))
    }

    @Test func parametersTravelWithTheHash() throws {
        let strong = try PasswordHasher(cost: PasswordHasher.Cost(logN: 6)).hash("pw")
        // A hasher with another default cost still checks it with the stored parameters.
        #expect(hasher.verify("pw", against: strong))
    }

    @Test func malformedHashesNeverVerify() {
        for bad in ["", "plain", "$scrypt$ln=4,r=8$AAAA$AAAA", "$scrypt$ln=99,r=8,p=1$AAAA$AAAA", "$bcrypt$ln=4,r=8,p=1$AAAA$AAAA", "$scrypt$ln=4,r=8,p=1$AAAA$"] {
            #expect(!hasher.verify("pw", against: bad))
        }
    }

    @Test func noHashNeverVerifies() {
        #expect(hasher.verify("pw", against: String?.none) == false)
    }
}
