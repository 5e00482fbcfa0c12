import Files
import Foundation

/// Writes the safetensors format (Hugging Face), which PyTorch users load with
/// `safetensors.torch.load_file`: an 8-byte little-endian header length, a JSON
/// header of names, dtypes, shapes and byte ranges, then the little-endian data.
public enum SafeTensors {
    /// One tensor to write; `integer` writes it as I64 (e.g. BN's num_batches_tracked).
    public struct Tensor {
        public var name: String
        public var shape: [Int]
        public var values: [Float]
        public var integer: Bool
        public init(name: String, shape: [Int], values: [Float], integer: Bool = false) {
            self.name = name
            self.shape = shape
            self.values = values
            self.integer = integer
        }
    }

    /// The file's bytes.
    public static func encode(_ tensors: [Tensor], metadata: [String: String] = [:]) throws -> Data {
        var header: [String: Any] = [:]
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        var offset = 0
        var payload = Data()
        for t in tensors {
            let count = t.values.count
            precondition(count == t.shape.reduce(1, *),
                         "SafeTensors: \(t.name) has \(count) values for shape \(t.shape)")
            let size = count * (t.integer ? 8 : 4)
            header[t.name] = ["dtype": t.integer ? "I64" : "F32", "shape": t.shape,
                              "data_offsets": [offset, offset + size]] as [String: Any]
            if t.integer {
                var ints = t.values.map { Int64($0).littleEndian }
                payload.append(Data(bytes: &ints, count: size))
            } else {
                var bits = t.values.map { $0.bitPattern.littleEndian }
                payload.append(Data(bytes: &bits, count: size))
            }
            offset += size
        }
        var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        while json.count % 8 != 0 { json.append(0x20) }
        var out = Data()
        var length = UInt64(json.count).littleEndian
        out.append(Data(bytes: &length, count: 8))
        out.append(json)
        out.append(payload)
        return out
    }

    /// Writes `tensors` to `path` atomically.
    public static func write(_ tensors: [Tensor], to path: String, metadata: [String: String] = [:]) throws {
        try AtomicFile.write(path, data: try encode(tensors, metadata: metadata))
    }

    /// Reads a safetensors file back (float32 and int64 tensors), for tests and checks.
    public static func read(_ path: String) throws -> [String: (shape: [Int], values: [Float])] {
        try readWithMetadata(path).tensors
    }

    /// The tensors and the header's `__metadata__` (string values only, as the format says).
    public static func readWithMetadata(_ path: String) throws -> (tensors: [String: (shape: [Int], values: [Float])],
                                                                   metadata: [String: String]) {
        let bytes = try WholeFile.bytes(path)
        func invalid(_ reason: String) -> CheckpointError { .invalid(path: path, reason: reason) }
        guard bytes.count >= 8 else { throw invalid("truncated: \(bytes.count) bytes, the header length alone is 8") }
        // Sizes from the file stay unsigned until checked against the file's length.
        let announced = CheckpointFile.readU64(bytes, 0)
        guard announced <= UInt64(bytes.count - 8) else {
            throw invalid("header length \(announced) exceeds the file's \(bytes.count - 8) bytes after it")
        }
        let n = Int(announced)
        let header: [String: Any]
        do {
            guard let object = try JSONSerialization.jsonObject(with: Data(bytes[8..<(8 + n)])) as? [String: Any] else {
                throw invalid("the header is not a JSON object")
            }
            header = object
        } catch let error as CheckpointError {
            throw error
        } catch {
            throw invalid("the header is not JSON: \(error.localizedDescription)")
        }
        let dataBytes = bytes.count - 8 - n
        var out: [String: (shape: [Int], values: [Float])] = [:]
        for (name, value) in header where name != "__metadata__" {
            guard let info = value as? [String: Any], let dtype = info["dtype"] as? String,
                  let shape = info["shape"] as? [Int], let range = info["data_offsets"] as? [Int],
                      range.count == 2 else {
                throw invalid("tensor \(name): expected dtype, shape and data_offsets [start, end]")
            }
            let size: Int
            switch dtype {
            case "F32": size = 4
            case "I64": size = 8
            default: throw invalid("tensor \(name): dtype \(dtype), expected F32 or I64")
            }
            guard range[0] >= 0, range[0] <= range[1], range[1] <= dataBytes else {
                throw invalid("tensor \(name): data_offsets \(range) lie outside the \(dataBytes) data bytes")
            }
            guard let elements = CheckpointFile.elementCount(of: shape),
                  elements.multipliedReportingOverflow(by: size) == (range[1] - range[0], false) else {
                throw invalid("tensor \(name): shape \(shape) of \(dtype) does not match its " +
                              "\(range[1] - range[0]) bytes")
            }
            let start = 8 + n + range[0], end = 8 + n + range[1]
            let values: [Float] = bytes[start..<end].withUnsafeBytes { raw in
                size == 8
                    ? (0..<(raw.count / 8)).map { Float(Int64(littleEndian: raw.loadUnaligned(fromByteOffset: 8 * $0,
                                                                                              as: Int64.self))) }
                    : (0..<(raw.count / 4)).map {
                        let bits = raw.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self)
                        return Float(bitPattern: UInt32(littleEndian: bits))
                    }
            }
            out[name] = (shape, values)
        }
        var metadata: [String: String] = [:]
        if let m = header["__metadata__"] {
            guard let pairs = m as? [String: Any] else { throw invalid("__metadata__ is not an object of strings") }
            for (key, value) in pairs {
                guard let text = value as? String else { throw invalid("__metadata__.\(key) is not a string") }
                metadata[key] = text
            }
        }
        return (out, metadata)
    }
}
