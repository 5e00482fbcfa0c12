import ArgumentParser
import Foundation
import Tensor

// 1. Make OpenBLAS run a kernel that fits this CPU (may re-execute the program), and
//    flush denormal floats to zero: training drives some values into the denormal range,
//    where x86 arithmetic is many times slower (bench: mlp fell from 47k to 24k samples/s).
//    A user's OPENBLAS_CORETYPE is honoured; rank 0 says when it is narrower than the CPU.
do {
    if let warning = try BLASRuntime.ensureFittingKernel(), Launch.rankFromEnvironment == 0 {
        FileHandle.standardError.write(Data("warning: \(warning)\n".utf8))
    }
} catch {
    if Launch.rankFromEnvironment == 0 { FileHandle.standardError.write(Data("error: \(error)\n".utf8)) }
    exit(1)
}
BLASRuntime.keepProcessName()
BLASRuntime.flushDenormalsEverywhere()

// 2. Expand --recipe and --config into options placed before the command line's own,
//    then parse before MPI starts, so bad options fail fast; only the first rank of a
//    job prints the message.
let command: ParsableCommand
do {
    let arguments = try Presets.expand(Array(CommandLine.arguments.dropFirst()))
    command = try DDPTrain.parseAsRoot(arguments)
} catch {
    if Launch.rankFromEnvironment != 0 { exit(DDPTrain.exitCode(for: error).rawValue) }
    DDPTrain.exit(withError: error)
}

// 3. Run it: job commands on every rank with a communicator, the others as they are.
if let job = command as? JobCommand {
    exit(Launch.run(job))
} else {
    var plain = command
    do {
        try plain.run()
    } catch {
        DDPTrain.exit(withError: error)
    }
}
