import Training
import Foundation

/// TensorBoard's event file, written by hand: records of (length u64 LE, masked CRC-32C of the
/// length, an `Event` protocol buffer, masked CRC-32C of the data). The first event holds
/// `file_version` "brain.Event:2"; then one event per epoch, `step` the epoch (1-based), with
/// a `Summary` of simple scalar values. Only the fields used are encoded:
/// `Event { double wall_time = 1; int64 step = 2; string file_version = 3; Summary summary = 5; }`,
/// `Summary { repeated Value value = 1; }`, `Value { string tag = 1; float simple_value = 2; }`.
public enum TensorBoardEvents {
    /// The scalars of one epoch's metrics line, by tag.
    public static func scalars(_ m: EpochMetrics) -> [(String, Double)] {
        m.scalars.compactMap { tag, value in value.map { (tag, $0) } }
            + m.figures.test.perClass.enumerated().map { ("per_class/\($0.offset)", $0.element) }
            + m.training.classWeights.enumerated().map { ("class_weight/\($0.offset)", $0.element) }
            + (m.figures.posthoc?.perClass ?? []).enumerated().map { ("per_class_posthoc/\($0.offset)", $0.element) }
            + (m.figures.taunorm?.perClass ?? []).enumerated().map { ("per_class_taunorm/\($0.offset)", $0.element) }
            + m.training.sampledPerClass.enumerated().map { ("sampled_per_class/\($0.offset)", Double($0.element)) }
    }

    /// The whole file for the epoch lines of `lines`: wall times from `start` on, each epoch
    /// ending `epoch_seconds` after the one before (the file is rewritten whole each epoch).
    public static func file(_ lines: [EpochMetrics], start: Double) -> Data {
        var out = Data()
        var version = Protobuf()
        version.double(1, start)
        version.string(3, "brain.Event:2")
        append(record: version.bytes, to: &out)
        var time = start
        for m in lines where m.event == "epoch" {
            time += max(m.training.epochSeconds, 0)
            var summary = Protobuf()
            for (tag, value) in scalars(m) {
                var v = Protobuf()
                v.string(1, tag)
                v.float(2, Float(value))
                summary.message(1, v)
            }
            var event = Protobuf()
            event.double(1, time)
            event.varint(2, UInt64(m.epoch + 1))
            event.message(5, summary)
            append(record: event.bytes, to: &out)
        }
        return out
    }

    static func append(record data: [UInt8], to out: inout Data) {
        var length = [UInt8](repeating: 0, count: 8)
        for i in 0..<8 { length[i] = UInt8(truncatingIfNeeded: UInt64(data.count) >> (8 * i)) }
        out.append(contentsOf: length)
        out.append(contentsOf: littleEndian(maskedCRC(length)))
        out.append(contentsOf: data)
        out.append(contentsOf: littleEndian(maskedCRC(data)))
    }

    static func littleEndian(_ v: UInt32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) } }

    /// TensorBoard's masked CRC: rotate right by 15, add a constant.
    static func maskedCRC(_ bytes: [UInt8]) -> UInt32 {
        let c = CRC32C.checksum(bytes)
        return ((c >> 15) | (c << 17)) &+ 0xA282_EAD8
    }

    /// `RUNDIR/tensorboard/events.out.tfevents.<seconds>.<host>`: the directory's existing file
    /// (a resumed run keeps writing its own), or a new name with this moment and host.
    public static func path(in directory: String, now: Date = Date()) -> (path: String, start: Double) {
        let existing = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [])
            .filter { $0.hasPrefix("events.out.tfevents.") && !$0.hasPrefix(".") }.sorted()
        if let name = existing.first, let seconds = Double(name.split(separator: ".").dropFirst(3).first ?? "") {
            return (directory + "/" + name, seconds)
        }
        let seconds = now.timeIntervalSince1970.rounded(.down)
        let host = ProcessInfo.processInfo.hostName.split(separator: ".").first.map(String.init) ?? "localhost"
        return (directory + "/events.out.tfevents.\(Int(seconds)).\(host)", seconds)
    }
}

/// The few protocol-buffer encodings an event needs.
struct Protobuf {
    var bytes: [UInt8] = []

    mutating func key(_ field: Int, _ wireType: UInt64) { varintValue(UInt64(field) << 3 | wireType) }

    mutating func varintValue(_ v: UInt64) {
        var v = v
        while v >= 0x80 {
            bytes.append(UInt8(v & 0x7F) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
    }

    mutating func varint(_ field: Int, _ v: UInt64) {
        key(field, 0)
        varintValue(v)
    }

    mutating func double(_ field: Int, _ v: Double) {
        key(field, 1)
        let bits = v.bitPattern
        for i in 0..<8 { bytes.append(UInt8(truncatingIfNeeded: bits >> (8 * i))) }
    }

    mutating func float(_ field: Int, _ v: Float) {
        key(field, 5)
        let bits = v.bitPattern
        for i in 0..<4 { bytes.append(UInt8(truncatingIfNeeded: bits >> (8 * i))) }
    }

    mutating func string(_ field: Int, _ s: String) { bytesField(field, Array(s.utf8)) }

    mutating func message(_ field: Int, _ m: Protobuf) { bytesField(field, m.bytes) }

    mutating func bytesField(_ field: Int, _ b: [UInt8]) {
        key(field, 2)
        varintValue(UInt64(b.count))
        bytes += b
    }
}

/// CRC-32C (Castagnoli), reflected polynomial 0x82F63B78, as TFRecord files use.
enum CRC32C {
    static let table: [UInt32] = (0..<256).map { i in
        var c = UInt32(i)
        for _ in 0..<8 { c = c & 1 != 0 ? (c >> 1) ^ 0x82F6_3B78 : c >> 1 }
        return c
    }

    static func checksum(_ bytes: [UInt8]) -> UInt32 {
        var c: UInt32 = 0xFFFF_FFFF
        for b in bytes { c = table[Int((c ^ UInt32(b)) & 0xFF)] ^ (c >> 8) }
        return c ^ 0xFFFF_FFFF
    }
}
