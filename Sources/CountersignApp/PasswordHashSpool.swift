import Foundation
import UserImport

/// The password hashes an import computed before its transaction, kept in an unlinked temporary file (gone when
/// the process ends, whatever happens) rather than in memory, in file order, each with its user name so that a
/// file changed between the two passes is noticed instead of giving one user another's password.
final class PasswordHashSpool {
    private let descriptor: Int32
    private var pending: [UInt8] = []
    private var source: ByteSource?
    private var field: [UInt8] = []

    init() throws {
        var template = Array((FileManager.default.temporaryDirectory.path + "/countersign-import-XXXXXX").utf8CString)
        descriptor = mkstemp(&template)
        guard descriptor >= 0 else {
            throw ImportError(.io, line: nil, "cannot create a temporary file: \(String(cString: strerror(errno)))")
        }
        unlink(template)
    }

    deinit {
        if source == nil { close(descriptor) }  // once reading, the ByteSource owns it
    }

    /// A name cannot hold NUL or a line break (control characters), nor a PHC hash either: they separate.
    func append(username: String, hash: String) throws {
        pending.append(contentsOf: username.utf8)
        pending.append(0)
        pending.append(contentsOf: hash.utf8)
        pending.append(UInt8(ascii: "\n"))
        if pending.count >= 1 << 16 { try flush() }
    }

    /// Switches from writing to reading, from the start.
    func rewind() throws {
        try flush()
        guard lseek(descriptor, 0, SEEK_SET) == 0 else {
            throw ImportError(.io, line: nil, "cannot read the temporary file back: \(String(cString: strerror(errno)))")
        }
        source = ByteSource(descriptor: descriptor)
    }

    /// The next user name and hash, in the order appended.
    func next() throws -> (username: String, hash: String)? {
        guard let source, let username = try read(until: 0, source) else { return nil }
        guard let hash = try read(until: UInt8(ascii: "\n"), source) else { return nil }
        return (username, hash)
    }

    private func read(until separator: UInt8, _ source: ByteSource) throws -> String? {
        field.removeAll(keepingCapacity: true)
        while let byte = try source.next() {
            if byte == separator { return String(decoding: field, as: UTF8.self) }
            field.append(byte)
        }
        return nil
    }

    private func flush() throws {
        var offset = 0
        while offset < pending.count {
            let written = pending[offset...].withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
            if written < 0 && errno == EINTR { continue }
            guard written > 0 else {
                throw ImportError(.io, line: nil, "cannot write a temporary file: \(String(cString: strerror(errno)))")
            }
            offset += written
        }
        pending.removeAll(keepingCapacity: true)
    }
}
