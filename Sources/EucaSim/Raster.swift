/// A raster to draw charts on, and its PNG: lines, rectangles and text in a 5 × 7 font of its
/// own, written here with no image library (PNG's deflate with fixed codes, runs of a repeated
/// byte as matches: charts are mostly one colour, so a chart is a few kilobytes).
struct Canvas {
    let width: Int
    let height: Int
    /// RGB, a row after another.
    private(set) var pixels: [UInt8]

    init(width: Int, height: Int) {
        self.width = width
        self.height = height
        pixels = [UInt8](repeating: 255, count: width * height * 3)
    }

    /// "#rrggbb" as three bytes; black for anything else.
    static func rgb(_ hex: String) -> (UInt8, UInt8, UInt8) {
        guard hex.utf8.count == 7, let value = UInt32(hex.dropFirst(), radix: 16) else { return (0, 0, 0) }
        return (UInt8(value >> 16 & 255), UInt8(value >> 8 & 255), UInt8(value & 255))
    }

    mutating func set(_ x: Int, _ y: Int, _ colour: (UInt8, UInt8, UInt8)) {
        guard x >= 0, y >= 0, x < width, y < height else { return }
        let at = (y * width + x) * 3
        pixels[at] = colour.0
        pixels[at + 1] = colour.1
        pixels[at + 2] = colour.2
    }

    mutating func fill(x: Int, y: Int, width: Int, height: Int, _ colour: (UInt8, UInt8, UInt8)) {
        for row in y..<(y + height) {
            for column in x..<(x + width) { set(column, row, colour) }
        }
    }

    /// A line `thickness` pixels wide (a square brush stepped along it).
    mutating func line(_ x0: Double, _ y0: Double, _ x1: Double, _ y1: Double, _ colour: (UInt8, UInt8, UInt8), thickness: Int = 1) {
        let steps = max(1, Int(max(abs(x1 - x0), abs(y1 - y0)).rounded(.up)))
        let offset = (thickness - 1) / 2
        for step in 0...steps {
            let t = Double(step) / Double(steps)
            let x = Int((x0 + (x1 - x0) * t).rounded(.down)) - offset, y = Int((y0 + (y1 - y0) * t).rounded(.down)) - offset
            for dy in 0..<thickness {
                for dx in 0..<thickness { set(x + dx, y + dy, colour) }
            }
        }
    }

    enum Anchor { case start, middle, end }

    /// `text` with its baseline's middle (the font's fourth row) at `y`, anchored at `x`;
    /// `vertical` reads upwards, anchored at `y` instead. Characters outside printable ASCII
    /// are drawn as `?`.
    mutating func text(_ text: String, x: Double, y: Double, anchor: Anchor = .start, scale: Int = 2, vertical: Bool = false,
                       _ colour: (UInt8, UInt8, UInt8) = (0, 0, 0)) {
        let codes = text.unicodeScalars.map { (32...126).contains($0.value) ? Int($0.value) : 63 }
        let advance = 6 * scale
        let length = Double(codes.count * advance - scale)
        let shift = anchor == .start ? 0 : anchor == .middle ? length / 2 : length
        for (index, code) in codes.enumerated() {
            let glyph = Self.font[code - 32]
            for row in 0..<7 {
                for column in 0..<5 where glyph >> UInt64((6 - row) * 5 + (4 - column)) & 1 == 1 {
                    for dy in 0..<scale {
                        for dx in 0..<scale {
                            let along = Double(index * advance + column * scale + dx) - shift
                            let across = Double((row - 3) * scale + dy)
                            if vertical {
                                set(Int((x + across).rounded()), Int((y - along).rounded()), colour)
                            } else {
                                set(Int((x + along).rounded()), Int((y + across).rounded()), colour)
                            }
                        }
                    }
                }
            }
        }
    }

    /// Printable ASCII from the space on: seven rows of five pixels each, the top row in the
    /// high bits, a row's leftmost pixel its high bit.
    static let font: [UInt64] = [
        0x000000000, 0x108421004, 0x294000000, 0x295F57D4A, 0x11F4717C4, 0x632222263,
        0x32544564D, 0x108000000, 0x088842082, 0x208210888, 0x009575480, 0x0084F9080,
        0x000003088, 0x0000F8000, 0x00000018C, 0x002222200, 0x3A33AE62E, 0x11842108E,
        0x3A211111F, 0x7C441062E, 0x08CA97C42, 0x7E1E0862E, 0x1910F462E, 0x7C2222108,
        0x3A317462E, 0x3A317844C, 0x018C03180, 0x018C03088, 0x088882082, 0x001F07C00,
        0x208208888, 0x3A2111004, 0x3A216D6AE, 0x3A31FC631, 0x7A31F463E, 0x3A308422E,
        0x72518C65C, 0x7E10F421F, 0x7E10F4210, 0x3A30BC62F, 0x4631FC631, 0x38842108E,
        0x1C4210A4C, 0x4654C5251, 0x42108421F, 0x4775AC631, 0x4639ACE31, 0x3A318C62E,
        0x7A31F4210, 0x3A318D64D, 0x7A31F5251, 0x3E107043E, 0x7C8421084, 0x46318C62E,
        0x46318C544, 0x4631AD6AA, 0x462A22A31, 0x462A21084, 0x7C222221F, 0x39084210E,
        0x020820820, 0x38421084E, 0x115100000, 0x00000001F, 0x208000000, 0x000E0BE2F,
        0x4216CC63E, 0x000E8422E, 0x042D9C62F, 0x000E8FE0E, 0x1928E2108, 0x01F18BC2E,
        0x4216CC631, 0x100C2108E, 0x080610A4C, 0x4212A6292, 0x30842108E, 0x001AAD631,
        0x0016CC631, 0x000E8C62E, 0x001E8FA10, 0x000D9BC21, 0x0016CC210, 0x000E8383E,
        0x211C42126, 0x00118C66D, 0x00118C544, 0x00118D6AA, 0x001151151, 0x00118BC2E,
        0x001F1111F, 0x088441082, 0x108421084, 0x208411088, 0x0008A8800,

    ]

    // MARK: - PNG

    /// The image as PNG: 8-bit RGB, each row filtered by its left neighbour (so a run of one
    /// colour is a run of zeros), compressed with deflate's fixed codes.
    var png: [UInt8] {
        var raw: [UInt8] = []
        raw.reserveCapacity(height * (width * 3 + 1))
        for row in 0..<height {
            raw.append(1)  // filter: Sub
            let start = row * width * 3
            for index in 0..<(width * 3) {
                let left = index >= 3 ? pixels[start + index - 3] : 0
                raw.append(pixels[start + index] &- left)
            }
        }
        var out: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        var header: [UInt8] = []
        header += Self.bigEndian(UInt32(width)) + Self.bigEndian(UInt32(height))
        header += [8, 2, 0, 0, 0]
        Self.chunk("IHDR", header, into: &out)
        Self.chunk("IDAT", Self.zlib(raw), into: &out)
        Self.chunk("IEND", [], into: &out)
        return out
    }

    private static func bigEndian(_ value: UInt32) -> [UInt8] {
        [UInt8(value >> 24), UInt8(value >> 16 & 255), UInt8(value >> 8 & 255), UInt8(value & 255)]
    }

    private static func chunk(_ type: String, _ data: [UInt8], into out: inout [UInt8]) {
        out += bigEndian(UInt32(data.count))
        let body = Array(type.utf8) + data
        out += body
        out += bigEndian(crc32(body))
    }

    private static let crcTable: [UInt32] = (0..<256).map { n in
        var c = UInt32(n)
        for _ in 0..<8 { c = c & 1 == 1 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }

    static func crc32(_ bytes: [UInt8]) -> UInt32 {
        var c: UInt32 = 0xFFFF_FFFF
        for byte in bytes { c = crcTable[Int((c ^ UInt32(byte)) & 255)] ^ (c >> 8) }
        return c ^ 0xFFFF_FFFF
    }

    /// A zlib stream of one deflate block with the fixed codes: a byte equal to the one before
    /// it, three or more times, is a match at distance 1; anything else a literal.
    static func zlib(_ data: [UInt8]) -> [UInt8] {
        var bits = BitWriter()
        bits.bytes = [0x78, 0x01]
        bits.write(1, count: 1)  // the last block
        bits.write(1, count: 2)  // fixed codes
        var index = 0
        while index < data.count {
            var run = 0
            if index > 0 {
                while run < 258, index + run < data.count, data[index + run] == data[index - 1] { run += 1 }
            }
            if run >= 3 {
                let code = lengthBases.lastIndex { $0 <= run }!
                bits.huffman(257 + code)
                bits.write(UInt32(run - lengthBases[code]), count: lengthExtra[code])
                bits.write(0, count: 5)  // distance code 0: distance 1, reversed, is all zeros
                index += run
            } else {
                bits.huffman(Int(data[index]))
                index += 1
            }
        }
        bits.huffman(256)
        bits.flush()
        var a: UInt32 = 1, b: UInt32 = 0
        for byte in data {
            a = (a + UInt32(byte)) % 65521
            b = (b + a) % 65521
        }
        return bits.bytes + bigEndian(b << 16 | a)
    }

    private static let lengthBases = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258]
    private static let lengthExtra = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0]

    /// Bits, first to the low end of each byte, as deflate packs them.
    struct BitWriter {
        var bytes: [UInt8] = []
        private var current: UInt32 = 0
        private var filled = 0

        /// `count` bits of `value`, its low bit first.
        mutating func write(_ value: UInt32, count: Int) {
            for bit in 0..<count {
                current |= (value >> UInt32(bit) & 1) << UInt32(filled)
                filled += 1
                if filled == 8 { flush() }
            }
        }

        /// A Huffman code, its high bit first.
        mutating func code(_ value: UInt32, count: Int) {
            for bit in stride(from: count - 1, through: 0, by: -1) { write(value >> UInt32(bit) & 1, count: 1) }
        }

        /// A literal or length symbol in deflate's fixed code.
        mutating func huffman(_ symbol: Int) {
            switch symbol {
            case 0...143: code(UInt32(0x30 + symbol), count: 8)
            case 144...255: code(UInt32(0x190 + symbol - 144), count: 9)
            case 256...279: code(UInt32(symbol - 256), count: 7)
            default: code(UInt32(0xC0 + symbol - 280), count: 8)
            }
        }

        mutating func flush() {
            guard filled > 0 else { return }
            bytes.append(UInt8(current))
            current = 0
            filled = 0
        }
    }
}
