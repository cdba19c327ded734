import Foundation
import Testing

@testable import RADIUSCodec

/// Hex to bytes; spaces are ignored so vectors can be grouped for reading.
func hex(_ string: String) -> [UInt8] {
    let digits = string.filter { !$0.isWhitespace }
    precondition(digits.count % 2 == 0, "odd hex string")
    var out: [UInt8] = []
    out.reserveCapacity(digits.count / 2)
    var index = digits.startIndex
    while index < digits.endIndex {
        let next = digits.index(index, offsetBy: 2)
        out.append(UInt8(digits[index..<next], radix: 16)!)
        index = next
    }
    return out
}

func hexString(_ bytes: some Sequence<UInt8>) -> String {
    bytes.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined()
}

/// RFC 5997 §6.1: Status-Server with Message-Authenticator, and its Access-Accept; secret "xyzzy5461".
enum RFC5997 {
    static let secret = Array("xyzzy5461".utf8)
    // 0c                                  Code 12 Status-Server
    // da                                  Identifier
    // 0026                                Length 38
    // 8a54f4686fb394c52866e302185d0623    Request Authenticator
    // 50 12 5a665e2e1e8411f3e243822097c84fa3   Message-Authenticator
    static let request = hex("0cda0026 8a54f4686fb394c52866e302185d0623 5012 5a665e2e1e8411f3e243822097c84fa3")
    // 02 da 0014 ef0d552a4bf2d693ec2b6fe8b5411d66   Access-Accept, no attributes
    static let response = hex("02da0014 ef0d552a4bf2d693ec2b6fe8b5411d66")
    static let requestAuthenticator = Array(request[4..<20])
}

/// One line of the corpus: real RADIUS packets from the FreeRADIUS server test vectors
/// (src/tests/unit/protocols/radius/*.txt), Copyright (C) 2019 Network RADIUS SARL, licensed under
/// CC-BY 4.0 (https://creativecommons.org/licenses/by/4.0); several come from the tcpdump and
/// Wireshark sample captures. Most were signed with the secret "testing123".
struct CorpusPacket: Sendable, CustomStringConvertible {
    var line: Int
    var source: String
    /// "well-formed" means only that the Length field matches the bytes.
    var wellFormed: Bool
    var bytes: [UInt8]

    var description: String { "\(source):line \(line)" }
}

enum Corpus {
    static let secret = Array("testing123".utf8)

    /// The corpus lives in the repository's shared/ folder, three levels above this file in the main
    /// package; sandboxes fall back to the absolute path.
    static let url: URL = {
        let relative = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent()
            .appendingPathComponent("../../../shared/corpus/radius-packets.txt")
            .standardized
        if FileManager.default.fileExists(atPath: relative.path) {
            return relative
        }
        return URL(fileURLWithPath: "/work/shared/corpus/radius-packets.txt")
    }()

    static func load() throws -> [CorpusPacket] {
        let text = try String(contentsOf: url, encoding: .utf8)
        var packets: [CorpusPacket] = []
        for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
            let fields = trimmed.split(separator: " ")
            try #require(fields.count == 3, "corpus line \(number + 1) has \(fields.count) fields")
            try #require(fields[1] == "well-formed" || fields[1] == "malformed")
            packets.append(CorpusPacket(
                line: number + 1,
                source: String(fields[0]),
                wellFormed: fields[1] == "well-formed",
                bytes: hex(String(fields[2]))
            ))
        }
        return packets
    }
}
