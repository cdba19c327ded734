import CQRCodeGen

/// A QR code of a text at error-correction level M (about 15 % of it can be lost), encoded by Nayuki's QR Code
/// generator, and drawn for a terminal or as SVG, both with the quiet zone scanners need around it.
public struct QRCode: Sendable, Equatable {
    /// Modules per side, 21 (version 1) to 177 (version 40).
    public let size: Int
    /// Row by row, true where the module is dark.
    private let modules: [Bool]

    /// Light modules on each side (ISO/IEC 18004 asks for 4).
    public static let quietZone = 4

    public init(encoding text: String) throws(QRCodeError) {
        // The C library takes a NUL-terminated string.
        guard !text.utf8.contains(0) else { throw .containsNUL }
        let length = Int(countersign_qrcodegen_buffer_length)
        var scratch = [UInt8](repeating: 0, count: length)
        var code = [UInt8](repeating: 0, count: length)
        let encoded = text.withCString { text in
            qrcodegen_encodeText(
                text, &scratch, &code, qrcodegen_Ecc_MEDIUM, qrcodegen_VERSION_MIN, qrcodegen_VERSION_MAX,
                qrcodegen_Mask_AUTO, false)
        }
        guard encoded else { throw .tooLong(bytes: text.utf8.count) }
        let size = Int(qrcodegen_getSize(code))
        self.size = size
        modules = (0..<size * size).map { qrcodegen_getModule(code, Int32($0 % size), Int32($0 / size)) }
    }

    /// True for a dark module; outside the code (the quiet zone and beyond) everything is light.
    public subscript(x: Int, y: Int) -> Bool {
        guard (0..<size).contains(x), (0..<size).contains(y) else { return false }
        return modules[y * size + x]
    }

    /// The code as lines of `▀`, `▄`, `█` and spaces, two module rows per line, dark modules as the characters'
    /// ink and light as blank, quiet zone included: dark on light where the terminal writes dark on light.
    public func terminalText() -> String {
        let span = -Self.quietZone..<(size + Self.quietZone)
        return stride(from: span.lowerBound, to: span.upperBound, by: 2).map { y in
            String(
                span.map { x in
                    switch (self[x, y], self[x, y + 1]) {
                    case (true, true): "█"
                    case (true, false): "▀"
                    case (false, true): "▄"
                    case (false, false): " "
                    }
                })
        }.joined(separator: "\n")
    }

    /// A standalone SVG document: a white square with the quiet zone, and one black `<path>` of the dark modules,
    /// one unit per module (each row's runs of dark modules as one rectangle).
    public func svg() -> String {
        let side = size + 2 * Self.quietZone
        var path = ""
        for y in 0..<size {
            var x = 0
            while x < size {
                guard self[x, y] else {
                    x += 1
                    continue
                }
                let start = x
                while self[x, y] { x += 1 }
                path += "M\(start + Self.quietZone),\(y + Self.quietZone)h\(x - start)v1h-\(x - start)z"
            }
        }
        return """
            <svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 \(side) \(side)" width="\(side * 8)" height="\(side * 8)" \
            shape-rendering="crispEdges"><rect width="\(side)" height="\(side)" fill="#fff"/>\
            <path fill="#000" d="\(path)"/></svg>

            """
    }
}

public enum QRCodeError: Error, Equatable, CustomStringConvertible {
    /// More than a version 40 code holds at level M (2,331 bytes of UTF-8).
    case tooLong(bytes: Int)
    case containsNUL

    public var description: String {
        switch self {
        case .tooLong(let bytes): "\(bytes) bytes are too many for a QR code"
        case .containsNUL: "a QR code's text cannot contain NUL"
        }
    }
}
