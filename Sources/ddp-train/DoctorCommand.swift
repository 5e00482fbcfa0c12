import ArgumentParser
import Data
import Distributed
import Foundation
import Tensor
import struct Settings.Options
import Tools
import Training

/// `ddp-train doctor`: checks MPI, BLAS, zstd and the data set on every rank.
struct DoctorCommand: ParsableCommand, JobCommand {
    static let configuration = CommandConfiguration(
        commandName: "doctor",
        abstract: "Check the installation on every rank (MPI, BLAS kernel and speed, zstd, data set).")

    @Flag(name: .long, help: "Print one JSON object instead of the readable report.")
    var json = false

    @Flag(name: .long,
          help: ArgumentHelp("Print only the OPENBLAS_CORETYPE this program runs with, for scripts that run other " +
                             "BLAS programs (the tests)."))
    var blasCoretype = false

    @Flag(name: .long,
          help: "Print the OpenBLAS kernels this CPU can run, one per line (the tests run their numerics under each).")
    var blasKernels = false

    @Option(name: .long, help: OptionBridge.help(Options().data))
    var data: String = Options().data.defaultValue

    @OptionGroup var threads: ThreadsOption

    var blasThreads: Int? { threads.threads }

    func run(comm: Communicator) throws -> Int32 {
        if blasCoretype {
            if comm.rank == 0 { print(ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"]
                ?? BLASRuntime.coreName) }
            return 0
        }
        if blasKernels {
            if comm.rank == 0 { print(BLASRuntime.runnableKernels(for: .current).joined(separator: "\n")) }
            return 0
        }
        let report = try Doctor.run(comm: comm, dataDirectory: data)
        if comm.rank == 0 {
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
                print(String(decoding: try encoder.encode(report), as: UTF8.self))
            } else {
                print(Doctor.text(report))
            }
            if !report.failures.isEmpty, json {
                FileHandle.standardError.write(Data(("doctor: " + report.failures.joined(separator: "; ") + "\n").utf8))
            }
        }
        return report.failures.isEmpty ? 0 : 1
    }
}
