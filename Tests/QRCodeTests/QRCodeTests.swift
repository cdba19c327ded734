import Foundation
import Testing

@testable import QRCode

@Suite struct QRCodeTests {
    let uri = "countersign://enroll?url=https://mfa.example.com&code=ABCDEFGHIJKLMNOPQRSTUVWXYZ234567&fp=" + String(repeating: "ab", count: 32)

    /// The modules as the test reads them back, row by row.
    static func matrix(_ code: QRCode) -> [[Bool]] {
        (0..<code.size).map { y in (0..<code.size).map { x in code[x, y] } }
    }

    @Test func theSizeGrowsWithTheText() throws {
        // Version 1 holds 14 bytes at level M; "HELLO WORLD" fits as alphanumeric text.
        #expect(try QRCode(encoding: "HELLO WORLD").size == 21)
        let code = try QRCode(encoding: uri)
        #expect(code.size > 21)
        #expect((code.size - 17) % 4 == 0)
    }

    @Test func theFinderPatternsAreInThreeCorners() throws {
        let code = try QRCode(encoding: uri)
        for (left, top) in [(0, 0), (code.size - 7, 0), (0, code.size - 7)] {
            for y in 0..<7 {
                for x in 0..<7 {
                    // A dark ring, a light ring, a dark 3 × 3 centre.
                    let ring = max(abs(x - 3), abs(y - 3))
                    #expect(code[left + x, top + y] == (ring != 2), "finder at \(left),\(top): \(x),\(y)")
                }
            }
        }
        // The timing pattern between the top finders alternates, dark first.
        for x in 8..<(code.size - 8) { #expect(code[x, 6] == (x % 2 == 0)) }
    }

    @Test func outsideTheCodeIsLight() throws {
        let code = try QRCode(encoding: "x")
        #expect(!code[-1, 0])
        #expect(!code[0, code.size])
        #expect(!code[code.size + 3, -4])
    }

    @Test func tooLongOrNULIsRefused() {
        #expect(throws: QRCodeError.tooLong(bytes: 2400)) { try QRCode(encoding: String(repeating: "a", count: 2400)) }
        #expect(throws: QRCodeError.containsNUL) { try QRCode(encoding: "a\u{0}b") }
    }

    @Test func theTerminalDrawingHasTwoRowsPerLineAndTheQuietZone() throws {
        let code = try QRCode(encoding: uri)
        let lines = code.terminalText().split(separator: "\n", omittingEmptySubsequences: false)
        let side = code.size + 2 * QRCode.quietZone
        #expect(lines.count == (side + 1) / 2)
        #expect(lines.allSatisfy { $0.count == side })
        // The first two lines are the four light rows above the code.
        #expect(lines.prefix(2).allSatisfy { $0.allSatisfy { $0 == " " } })
        // Read back: ink is dark, the upper half is the even row.
        var read = [[Bool]](repeating: [Bool](repeating: false, count: side), count: side + 1)
        for (row, line) in lines.enumerated() {
            for (x, character) in line.enumerated() {
                #expect(" ▀▄█".contains(character))
                read[2 * row][x] = "█▀".contains(character)
                read[2 * row + 1][x] = "█▄".contains(character)
            }
        }
        let zone = QRCode.quietZone
        #expect(read[zone..<(zone + code.size)].map { Array($0[zone..<(zone + code.size)]) } == Self.matrix(code))
        #expect(read.flatMap { $0 }.filter { $0 }.count == Self.matrix(code).flatMap { $0 }.filter { $0 }.count)
    }

    @Test func theSVGIsOnePathOnAWhiteSquareWithTheQuietZone() throws {
        let code = try QRCode(encoding: uri)
        let svg = code.svg()
        let side = code.size + 2 * QRCode.quietZone
        #expect(svg.hasPrefix("<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 \(side) \(side)\""))
        #expect(svg.contains("<rect width=\"\(side)\" height=\"\(side)\" fill=\"#fff\"/>"))
        #expect(svg.components(separatedBy: "<path").count == 2)
        #expect(svg.hasSuffix("</svg>\n"))

        // Each run "Mx,yhNv1h-Nz" read back into modules.
        let d = try #require(svg.range(of: "d=\"").map { svg[$0.upperBound...].prefix { $0 != "\"" } })
        var read = [[Bool]](repeating: [Bool](repeating: false, count: code.size), count: code.size)
        for run in d.split(separator: "M") {
            let numbers = run.split(whereSeparator: { !$0.isNumber }).compactMap { Int($0) }
            try #require(numbers.count == 5 && numbers[2] == numbers[4] && numbers[3] == 1, "\(run)")
            let (x, y) = (numbers[0] - QRCode.quietZone, numbers[1] - QRCode.quietZone)
            #expect((0..<code.size).contains(y) && x >= 0 && x + numbers[2] <= code.size)
            for column in x..<(x + numbers[2]) { read[y][column] = true }
        }
        #expect(read == Self.matrix(code))
    }
}
