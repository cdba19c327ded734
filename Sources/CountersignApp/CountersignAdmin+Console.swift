import WebConsole

/// The console's actions are the CLI's, each event naming the admin who acted (`admin:web:NAME`).
extension CountersignAdmin: ConsoleUserActions {
    public func addUser(_ name: String, password: String?, actor: String) async throws {
        try await acting(as: actor).addUser(name, password: password)
    }

    public func deleteUser(_ name: String, actor: String) async throws {
        try await acting(as: actor).deleteUser(name)
    }

    public func unlock(_ name: String, actor: String) async throws {
        try await acting(as: actor).unlock(name)
    }

    public func deleteTOTP(_ name: String, actor: String) async throws {
        try await acting(as: actor).deleteTOTP(name)
    }

    public func deleteDevice(_ name: String, actor: String) async throws {
        try await acting(as: actor).deleteDevice(name)
    }
}
