import Training
import Checkpoint
import Data
import Distributed
import Foundation
import NN
import Tensor

/// `ddp-train doctor`: checks the installation on every rank.
public enum Doctor {
    /// One rank's findings.
    public struct RankReport: Codable, Sendable {
        public var rank: Int
        public var host: String
        public var blasCore: String
        public var blasThreads: Int
        public var sgemmGflops: Double
        public var blasKernelFits: Bool
        /// Whether sgemm flushes denormals on all its threads (they would slow training many times).
        public var blasFlushesDenormals: Bool
        /// "oneDNN 2.6.3", or why it is not used; the instruction set it dispatches to; and what
        /// runs a convolution of resnet32's first stage (`jit:avx512_core`, or `im2col + OpenBLAS`).
        public var onednn: String
        public var onednnIsa: String
        public var convolutions: String
        /// GFLOP/s of the forward, backward-data and backward-weights passes of resnet32's
        /// 32 -> 32 3x3 convolution (batch 64, 16 x 16) in float32 and bfloat16 (nil: no
        /// bfloat16 kernels, or no oneDNN): what `--precision bf16` weighs per layer.
        public var convGflopsFloat32: [Double]?
        public var convGflopsBFloat16: [Double]?

        enum CodingKeys: String, CodingKey {
            case rank, host, onednn, convolutions
            case convGflopsFloat32 = "conv_gflops_fp32"
            case convGflopsBFloat16 = "conv_gflops_bf16"
            case onednnIsa = "onednn_isa"
            case blasFlushesDenormals = "blas_flushes_denormals"
            case blasCore = "blas_core"
            case blasThreads = "blas_threads"
            case sgemmGflops = "sgemm_gflops"
            case blasKernelFits = "blas_kernel_fits"
        }
    }

    /// The whole job's findings, as `doctor --json` prints them.
    public struct Report: Codable, Sendable {
        public var worldSize: Int
        public var mpiLibrary: String
        public var zstdVersion: String
        public var dataDirectory: String
        public var datasetPresent: Bool
        public var datasetLayout: String?
        public var allreduceOk: Bool
        public var cpu: String
        public var ranks: [RankReport]
        /// Why the installation is not fit, empty when it is (the exit status follows these).
        public var failures: [String]
        /// What works but could be better (a narrower BLAS kernel than the CPU could run).
        public var warnings: [String]

        enum CodingKeys: String, CodingKey {
            case worldSize = "world_size"
            case mpiLibrary = "mpi_library"
            case zstdVersion = "zstd_version"
            case dataDirectory = "data_directory"
            case datasetPresent = "dataset_present"
            case datasetLayout = "dataset_layout"
            case allreduceOk = "allreduce_ok"
            case cpu, ranks, failures, warnings
        }
    }

    /// Runs every check on every rank (collective) and returns the job's report on every rank.
    public static func run(comm: Communicator, dataDirectory: String) throws -> Report {
        var failures: [String] = []
        let allreduceOk: Bool
        do {
            allreduceOk = try checkCollectives(comm)
        } catch {
            allreduceOk = false
            failures.append("collectives: \(error)")
        }
        if !allreduceOk, failures.isEmpty { failures.append("all-reduce, broadcast or all-gather gave wrong results") }

        let core = BLASRuntime.coreName
        let fits = BLASRuntime.betterCoreType(for: .current, current: core) == nil
        let rates = convolutionRates()
        let mine = RankReport(
            rank: comm.rank, host: comm.hostName, blasCore: core, blasThreads: BLASRuntime.threads,
            sgemmGflops: (BLASRuntime.measureSgemm() * 10).rounded() / 10, blasKernelFits: fits,
            blasFlushesDenormals: BLASRuntime.sgemmFlushesDenormals(), onednn: OneDNN.status, onednnIsa: OneDNN.isa,
            convolutions: convolutionImplementation(), convGflopsFloat32: rates?.float32,
            convGflopsBFloat16: rates?.bfloat16)
        let encoded = String(decoding: try JSONEncoder().encode(mine), as: UTF8.self)
        let ranks = try comm.allGather(strings: encoded).map {
            try JSONDecoder().decode(RankReport.self, from: Data($0.utf8))
        }
        for r in ranks where !r.blasFlushesDenormals {
            failures.append("rank \(r.rank) on \(r.host): sgemm does not flush denormals on all its threads " +
                            "(training slows down when values get tiny)")
        }
        var warnings: [String] = []
        for r in ranks where !r.blasKernelFits {
            let set = ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"].map { " (OPENBLAS_CORETYPE=\($0))" }
                ?? ""
            let better = BLASRuntime.fittingCoreType(for: .current).map { "; \($0) would fit" } ?? ""
            warnings.append("rank \(r.rank) on \(r.host): OpenBLAS runs its \(r.blasCore) kernel\(set), narrower " +
                            "than the CPU's vector units\(better)")
        }
        for r in ranks where r.onednnIsa == "none" {
            warnings.append("rank \(r.rank) on \(r.host): convolutions run on im2col + OpenBLAS, not oneDNN " +
                            "(\(r.onednn)); cnn and resnet32 train about 1.5x " +
                            "slower\(r.onednn.contains("not found") ? " (apt-get install libdnnl2)" : "")")
        }

        var layout: String?
        do {
            layout = try DatasetLayout.detect(in: dataDirectory).name
        } catch {
            failures.append("data set: \(error)")
        }
        return Report(
            worldSize: comm.size, mpiLibrary: comm.libraryVersion, zstdVersion: Zstd.version,
            dataDirectory: dataDirectory, datasetPresent: layout != nil, datasetLayout: layout,
            allreduceOk: allreduceOk, cpu: CPUFeatures.current.modelName, ranks: ranks, failures: failures,
            warnings: warnings)
    }

    /// All-reduce (sum, max; Float, Double, Int64; blocking and not), broadcast and all-gather with known answers.
    static func checkCollectives(_ comm: Communicator) throws -> Bool {
        let r = comm.rank, w = comm.size
        let triangle = w * (w - 1) / 2
        var ok = true

        var f: [Float] = [Float(r), 1, Float(r) * 0.5]
        try comm.allReduceSum(&f)
        ok = ok && f == [Float(triangle), Float(w), Float(triangle) * 0.5]

        var d: [Double] = [Double(r) + 0.25, -1]
        try comm.allReduceSum(&d)
        ok = ok && d == [Double(triangle) + 0.25 * Double(w), -Double(w)]

        var i: [Int64] = [Int64(r) << 33, 1]
        try comm.allReduceSum(&i)
        ok = ok && i == [Int64(triangle) << 33, Int64(w)]

        var m: [Double] = [Double(r), -Double(r)]
        try comm.allReduceMax(&m)
        ok = ok && m == [Double(w - 1), 0]

        // Blocking float sums of several sizes, one not a multiple of the ranks, larger then
        // smaller (a shared-memory window grows, then serves a smaller sum).
        for count in [100_003, 5, 300_007] {
            var v = (0..<count).map { Float(r + $0 % 7) }
            try comm.allReduceSum(&v)
            ok = ok && v.indices.allSatisfy { v[$0] == Float(triangle + w * ($0 % 7)) }
        }

        var big = [Float](repeating: 1, count: 1 << 18)
        try big.withUnsafeMutableBytes { raw in
            let request = try comm.startAllReduce(raw.baseAddress!, count: 1 << 18, kind: .float, op: .sum)
            while try !comm.test(request) {}
        }
        ok = ok && big.allSatisfy { $0 == Float(w) }

        let text = try comm.broadcast(string: r == 0 ? "from rank 0" : "")
        ok = ok && text == "from rank 0"

        let gathered: [Int64] = try comm.allGather([Int64](repeating: Int64(r), count: r + 1))
        ok = ok && gathered == (0..<w).flatMap { [Int64](repeating: Int64($0), count: $0 + 1) }

        try comm.barrier()
        // Every rank must agree that every rank passed.
        var all: [Int64] = [ok ? 0 : 1]
        try comm.allReduceMax(&all)
        return all[0] == 0
    }

    /// What runs a 16 -> 16 channel 3x3 convolution of a 28 x 28 batch (resnet32's first stage).
    static func convolutionImplementation() -> String {
        let store = ParameterStore()
        let conv = Conv2d("probe", inChannels: 16, outChannels: 16, kernel: 3, padding: 1, bias: false, store: store,
                          workspace: Workspace())
        store.allocate()
        _ = conv.forward(Tensor(shape: [16, 8, 28, 28]), training: true)
        guard conv.backend == .onednn, let forward = conv.implementations.first else { return "im2col + OpenBLAS" }
        return forward
    }

    /// `RankReport.convGflopsFloat32` and `convGflopsBFloat16`, to one decimal.
    static func convolutionRates() -> (float32: [Double], bfloat16: [Double]?)? {
        let store = ParameterStore()
        let conv = Conv2d("probe", inChannels: 32, outChannels: 32, kernel: 3, padding: 1, bias: false, store: store,
                          workspace: Workspace())
        store.allocate()
        store.initialize(seed: 1)
        guard let rates = conv.passRates(shape: [32, 64, 16, 16]) else { return nil }
        let rounded = { (r: [Double]) in r.map { ($0 * 10).rounded() / 10 } }
        return (rounded(rates.float32), rates.bfloat16.map(rounded))
    }

    /// The readable report rank 0 prints.
    public static func text(_ report: Report) -> String {
        var lines = ["ddp-train doctor"]
        lines.append("  world size    \(report.worldSize)")
        lines.append("  MPI library   \(report.mpiLibrary)")
        lines.append("  zstd          \(report.zstdVersion)")
        lines.append("  CPU           \(report.cpu)")
        lines.append("  data set      \(report.dataDirectory): " +
                     "\(report.datasetLayout.map { "present (\($0))" } ?? "MISSING")")
        lines.append("  collectives   \(report.allreduceOk ? "ok" : "FAILED")")
        lines.append("")
        lines.append("  rank  host                  BLAS kernel   threads  sgemm GFLOP/s  convolutions")
        for r in report.ranks {
            let host = r.host.padding(toLength: 20, withPad: " ", startingAt: 0)
            let core = (r.blasCore + (r.blasKernelFits ? "" : " (!)")).padding(toLength: 12, withPad: " ",
                                                                               startingAt: 0)
            let conv = r.onednnIsa == "none" ? "im2col + OpenBLAS" : "\(r.onednn), \(r.onednnIsa) (\(r.convolutions))"
            lines.append("  \(String(format: "%4d", r.rank))  \(host)  \(core)  " +
                         "\(String(format: "%7d", r.blasThreads))  \(String(format: "%13.1f", r.sgemmGflops))  \(conv)")
        }
        lines.append("")
        lines.append("  convolution GFLOP/s (resnet32's 32 -> 32 3x3, batch 64, 16 x 16; forward, backward data, " +
                     "backward weights)")
        for r in report.ranks {
            let show = { (g: [Double]?) in g.map { $0.map { String(format: "%6.1f", $0) }.joined(separator: " ") }
                ?? "  none" }
            var line = "  \(String(format: "%4d", r.rank))  float32 \(show(r.convGflopsFloat32))   bfloat16 " +
                       show(r.convGflopsBFloat16)
            if let f = r.convGflopsFloat32, let b = r.convGflopsBFloat16, f.allSatisfy({ $0 > 0 }),
               b.allSatisfy({ $0 > 0 }) {
                // Time per FLOP of the three passes together: float32's over bfloat16's.
                let time = { (rates: [Double]) in rates.map { 1 / $0 }.reduce(0, +) }
                line += String(format: "   (bfloat16 %.2fx float32's speed)", time(f) / time(b))
            }
            lines.append(line)
        }
        lines.append("")
        if !report.warnings.isEmpty {
            lines.append("Warnings:")
            lines += report.warnings.map { "  - \($0)" }
        }
        if report.failures.isEmpty {
            lines.append(report.warnings.isEmpty ? "All checks passed." : "All checks passed, with warnings.")
        } else {
            lines.append("Problems:")
            lines += report.failures.map { "  - \($0)" }
        }
        return lines.joined(separator: "\n")
    }
}
