import Foundation
import MFACore
import UserImport

/// Lines kept in an unlinked temporary file (gone when the process ends, whatever happens) rather than in memory:
/// written first, then read back in order. An import's password hashes and `store copy`'s records pass through one.
final class LineSpool {
    private let descriptor: Int32
    private var pending: [UInt8] = []
    private var source: ByteSource?
    private var line: [UInt8] = []

    init() throws {
        var template = Array((FileManager.default.temporaryDirectory.path + "/countersign-spool-XXXXXX").utf8CString)
        descriptor = mkstemp(&template)
        guard descriptor >= 0 else { throw StoreError(.io, "cannot create a temporary file: \(String(cString: strerror(errno)))") }
        unlink(template)
    }

    deinit {
        if source == nil { close(descriptor) }  // once reading, the ByteSource owns it
    }

    /// `bytes` must not hold a line break.
    func append(_ bytes: some Sequence<UInt8>) throws {
        pending.append(contentsOf: bytes)
        pending.append(UInt8(ascii: "\n"))
        if pending.count >= 1 << 16 { try flush() }
    }

    /// Switches from writing to reading, from the start.
    func rewind() throws {
        try flush()
        guard lseek(descriptor, 0, SEEK_SET) == 0 else {
            throw StoreError(.io, "cannot read the temporary file back: \(String(cString: strerror(errno)))")
        }
        source = ByteSource(descriptor: descriptor)
    }

    /// The next line, in the order appended.
    func next() throws -> [UInt8]? {
        guard let source else { return nil }
        line.removeAll(keepingCapacity: true)
        while let byte = try source.next() {
            if byte == UInt8(ascii: "\n") { return line }
            line.append(byte)
        }
        return nil
    }

    private func flush() throws {
        var offset = 0
        while offset < pending.count {
            let written = pending[offset...].withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
            if written < 0 && errno == EINTR { continue }
            guard written > 0 else { throw StoreError(.io, "cannot write a temporary file: \(String(cString: strerror(errno)))") }
            offset += written
        }
        pending.removeAll(keepingCapacity: true)
    }
}

/// The password hashes an import computed before its transaction, in file order, each with its user name so that a
/// file changed between the two passes is noticed instead of giving one user another's password.
extension LineSpool {
    /// A name cannot hold NUL or a line break (control characters), nor a PHC hash either: they separate.
    func append(username: String, hash: String) throws {
        try append(Array(username.utf8) + [0] + Array(hash.utf8))
    }

    func next() throws -> (username: String, hash: String)? {
        guard let line: [UInt8] = try next(), let nul = line.firstIndex(of: 0) else { return nil }
        return (String(decoding: line[..<nul], as: UTF8.self), String(decoding: line[(nul + 1)...], as: UTF8.self))
    }
}
