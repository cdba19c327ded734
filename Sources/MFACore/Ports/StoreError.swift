/// A store failure the operator can act on; equal by code.
public struct StoreError: Error, Equatable, CustomStringConvertible, Sendable {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        public var description: String { name }
        public static let userExists = Code(name: "userExists")
        public static let noSuchUser = Code(name: "noSuchUser")
        public static let alreadyEnrolled = Code(name: "alreadyEnrolled")
        public static let notEnrolled = Code(name: "notEnrolled")
        public static let invalidUsername = Code(name: "invalidUsername")
        public static let corruptSecret = Code(name: "corruptSecret")
        public static let badKeyFile = Code(name: "badKeyFile")
        public static let badKeyVariable = Code(name: "badKeyVariable")
        public static let io = Code(name: "io")
        public static let storeExists = Code(name: "storeExists")
        public static let badBackup = Code(name: "badBackup")
        public static let storeNotEmpty = Code(name: "storeNotEmpty")
        public static let groupExists = Code(name: "groupExists")
        public static let noSuchGroup = Code(name: "noSuchGroup")
        public static let invalidGroupName = Code(name: "invalidGroupName")
        public static let adminExists = Code(name: "adminExists")
        public static let noSuchAdmin = Code(name: "noSuchAdmin")
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }

    public static func == (lhs: StoreError, rhs: StoreError) -> Bool { lhs.code == rhs.code }
}
