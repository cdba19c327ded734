#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An import file read in fixed chunks, byte by byte, so that memory stays flat whatever the file's size.
public final class ByteSource {
    private static let chunkSize = 1 << 20

    private let descriptor: Int32
    private let buffer: UnsafeMutablePointer<UInt8>
    private var position = 0
    private var end = 0
    private var finished = false
    /// Bytes handed out so far, for a progress line.
    public private(set) var bytesRead = 0
    /// The file's size when known.
    public let totalBytes: Int?

    /// Opens `path` for reading.
    public init(path: String) throws {
        let descriptor = open(path, O_RDONLY)
        guard descriptor >= 0 else {
            throw ImportError(.io, line: nil, "cannot open \(path): \(String(cString: strerror(errno)))")
        }
        var status = stat()
        self.totalBytes = fstat(descriptor, &status) == 0 ? Int(status.st_size) : nil
        self.descriptor = descriptor
        self.buffer = .allocate(capacity: Self.chunkSize)
    }

    /// Reads an open file from its current offset, and closes it when done.
    public init(descriptor: Int32) {
        var status = stat()
        self.totalBytes = fstat(descriptor, &status) == 0 ? Int(status.st_size) : nil
        self.descriptor = descriptor
        self.buffer = .allocate(capacity: Self.chunkSize)
    }

    /// Bytes already in memory (tests, standard input read elsewhere).
    public init(bytes: [UInt8]) {
        descriptor = -1
        buffer = .allocate(capacity: max(bytes.count, 1))
        buffer.initialize(from: bytes, count: bytes.count)
        end = bytes.count
        totalBytes = bytes.count
    }

    public convenience init(_ text: String) {
        self.init(bytes: Array(text.utf8))
    }

    deinit {
        buffer.deallocate()
        if descriptor >= 0 { close(descriptor) }
    }

    /// The next byte, or nil at the end.
    @inline(__always)
    public func next() throws -> UInt8? {
        if position == end, try !refill() { return nil }
        let byte = buffer[position]
        position += 1
        bytesRead += 1
        return byte
    }

    /// The next byte without consuming it.
    @inline(__always)
    public func peek() throws -> UInt8? {
        if position == end, try !refill() { return nil }
        return buffer[position]
    }

    private func refill() throws -> Bool {
        guard descriptor >= 0, !finished else { return false }
        while true {
            let count = read(descriptor, buffer, Self.chunkSize)
            if count > 0 {
                position = 0
                end = count
                return true
            }
            if count == 0 {
                finished = true
                return false
            }
            if errno != EINTR {
                throw ImportError(.io, line: nil, "cannot read: \(String(cString: strerror(errno)))")
            }
        }
    }
}

/// Reads one user at a time from an import file.
public protocol UserRecordReader: AnyObject {
    /// The next user, or nil at the end of the file. Throws an `ImportError` naming the line.
    func next() throws -> ImportRecord?
    /// What was skipped so far, one warning per kind.
    var warnings: [ImportWarning] { get }
    /// For a progress line: bytes read, and the file's size when known.
    var bytesRead: Int { get }
    var totalBytes: Int? { get }
}

extension ImportFormat {
    /// A reader of this format over `source`; reads a CSV header at once (and fails on a bad one).
    public func reader(_ source: ByteSource) throws -> any UserRecordReader {
        switch self {
        case .csv: try CSVUserReader(source)
        case .json: JSONUserReader(source)
        case .freeradius: FreeRADIUSUserReader(source)
        }
    }
}

/// The columns (CSV) and keys (JSON) an import understands.
enum ImportField: String, CaseIterable {
    case username
    case password
    case totpSecret = "totp_secret"
    case mfa
    /// Local groups, separated by `;` (StoreConventions keeps `;` out of group names).
    case groups

    static let known = allCases.map(\.rawValue).joined(separator: ", ")
}
