import Foundation
import MFACore

/// The users a run logs in as, read from the same CSV Countersign imports (`username,password,totp_secret`; the
/// FreeRADIUS users file of Scripts/bench is made from it too), so both servers hold the same users and seeds.
struct BenchUsers: Sendable {
    var names: [[UInt8]] = []
    var passwords: [[UInt8]] = []
    var secrets: [[UInt8]] = []

    var count: Int { names.count }

    init(csv path: String) throws {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        var lines = text.split(whereSeparator: \.isNewline).makeIterator()
        guard let header = lines.next()?.split(separator: ",", omittingEmptySubsequences: false).map(String.init),
            let nameColumn = header.firstIndex(of: "username")
        else { throw BenchError("\(path): the header must name a username column") }
        let passwordColumn = header.firstIndex(of: "password")
        let secretColumn = header.firstIndex(of: "totp_secret")
        var number = 1
        while let line = lines.next() {
            number += 1
            let fields = line.split(separator: ",", omittingEmptySubsequences: false)
            guard fields.count == header.count else { throw BenchError("\(path):\(number): expected \(header.count) fields") }
            names.append(Array(fields[nameColumn].utf8))
            passwords.append(passwordColumn.map { Array(fields[$0].utf8) } ?? [])
            if let secretColumn {
                guard let secret = Base32.decode(String(fields[secretColumn])) else {
                    throw BenchError("\(path):\(number): totp_secret is not base32")
                }
                secrets.append(secret)
            } else {
                secrets.append([])
            }
        }
        guard !names.isEmpty else { throw BenchError("\(path): no users") }
    }
}

struct BenchError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
