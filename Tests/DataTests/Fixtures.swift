import Foundation
@testable import Data

/// Writes small data sets in every supported format into a fresh temporary directory.
struct Fixtures {
    let directory: String

    init(_ name: String = #function) {
        let clean = name.filter { $0.isLetter || $0.isNumber }
        directory = NSTemporaryDirectory() + "ddp-train-tests-\(getpid())-\(clean)-\(UInt32.random(in: 0...UInt32.max))"
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    func remove() { try? FileManager.default.removeItem(atPath: directory) }

    func path(_ name: String) -> String { directory + "/" + name }

    func write(_ name: String, _ bytes: [UInt8]) {
        _ = FileManager.default.createFile(atPath: path(name), contents: Data(bytes))
    }

    static func be32(_ v: Int) -> [UInt8] { [UInt8((v >> 24) & 255), UInt8((v >> 16) & 255), UInt8((v >> 8) & 255),
                                             UInt8(v & 255)] }

    static func idxImages(_ n: Int, _ h: Int, _ w: Int, fill: (Int) -> UInt8 = { UInt8($0 % 251) }) -> [UInt8] {
        [0, 0, 8, 3] + be32(n) + be32(h) + be32(w) + (0..<(n * h * w)).map(fill)
    }

    static func idxLabels(_ labels: [UInt8]) -> [UInt8] { [0, 0, 8, 1] + be32(labels.count) + labels }

    /// An IDX data set: `n` training images of 4x4 with labels `i % classes`, and a test set of 10.
    func idx(n: Int = 40, classes: Int = 10, gzip: Bool = false) {
        write("train-images-idx3-ubyte", Self.idxImages(n, 4, 4))
        write("train-labels-idx1-ubyte", Self.idxLabels((0..<n).map { UInt8($0 % classes) }))
        write("t10k-images-idx3-ubyte", Self.idxImages(10, 4, 4))
        write("t10k-labels-idx1-ubyte", Self.idxLabels((0..<10).map { UInt8($0 % classes) }))
        if gzip {
            for f in ["train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
                      "t10k-labels-idx1-ubyte"] {
                Self.run("/bin/gzip", ["-f", path(f)])
            }
        }
    }

    /// A NumPy array file.
    static func npy(descr: String, shape: [Int], data: [UInt8]) -> [UInt8] {
        let shapeText = shape.count == 1 ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
        var header = "{'descr': '\(descr)', 'fortran_order': False, 'shape': \(shapeText), }"
        while (10 + header.utf8.count + 1) % 64 != 0 { header += " " }
        header += "\n"
        let length = header.utf8.count
        return [0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(length & 255),
                                               UInt8(length >> 8)] + Array(header.utf8) + data
    }

    static func int64Bytes(_ v: [Int]) -> [UInt8] { v.flatMap { x in (0..<8).map { UInt8((Int64(x) >> (8
        * $0)) & 255) } } }

    static func run(_ tool: String, _ args: [String]) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: tool)
        p.arguments = args
        try? p.run()
        p.waitUntilExit()
    }
}
