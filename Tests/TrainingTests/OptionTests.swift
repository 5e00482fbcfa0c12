import Foundation
import Settings
import Testing
import NN
import Tensor
@testable import Training

/// Options are defined once: the parser, config.json and --help all come from that definition.
@Suite struct OptionTests {
    func parse(_ arguments: [String]) throws -> TrainConfig {
        var c = TrainConfig()
        try TrainConfig.parser.parse(arguments, into: &c.settings)
        return c
    }

    @Test func parsesEveryForm() throws {
        let c = try parse(["--lr", "0.05", "--epochs=7", "--augment", "--no-augment", "--lr-milestones", "3", "5",
                           "--loss", "subcenter-arcface", "--metric-loss", "center", "--margin", "20"])
        #expect(c.lr == 0.05 && c.epochs == 7 && c.augment == false && c.lrMilestones == [3, 5])
        #expect(c.loss == .subcenterArcface && c.embeddingLoss == .center && c.margin == 20)
        #expect(c.batchSize == Options().batchSize.defaultValue)
    }

    /// `--drw-epoch` takes an epoch or a share of the epochs (the ldam-drw recipe's 80%), and
    /// config files of older versions (an integer) still read.
    @Test func drwEpochAsNumberOrShare() throws {
        var c = try parse(["--drw-epoch", "80%", "--epochs", "200"])
        #expect(c.drwEpoch == .percent(80) && c.drwEpoch?.epoch(of: c.epochs) == 160 && c.problems().isEmpty)
        let json = try JSONEncoder().encode(c)
        #expect(String(decoding: json, as: UTF8.self).contains("\"drw-epoch\":\"80%\""))
        #expect(try JSONDecoder().decode(TrainConfig.self, from: json).drwEpoch == .percent(80))
        #expect(try JSONDecoder().decode(TrainConfig.self,
                                         from: Data("{\"drw-epoch\": 12}".utf8)).drwEpoch == .epoch(12))
        c = try parse(["--drw-epoch", "150%"])
        #expect(c.problems().contains { $0.contains("--drw-epoch must be a share in 0%...100%") })
        #expect(throws: OptionError.self) { try parse(["--drw-epoch", "soon"]) }
        c = try parse(["--loss", "balanced-softmax", "--class-weights", "ib"])
        #expect(c.problems().contains { $0.contains("balanced-softmax takes no class weights") })
    }

    /// bf16 is for convolutions on oneDNN: the mlp and im2col are refused by name.
    @Test func bfloat16NeedsConvolutionsOnOneDNN() throws {
        #expect(try parse(["--precision", "bf16", "--model", "cnn"]).problems().isEmpty)
        #expect(try parse(["--precision", "bf16", "--model",
                           "mlp"]).problems().contains { $0.contains("--model mlp has none") })
        #expect(try parse(["--precision", "bf16", "--model", "resnet32", "--conv-backend", "im2col"]).problems()
                    .contains { $0.contains("--conv-backend im2col computes in float32 only") })
        #expect(try parse(["--model", "mlp"]).precision == .fp32)
        #expect(Precision.fp32.machineProblem == nil)
        // bf16 where oneDNN has bfloat16 kernels (AVX-512, native or emulated); auto everywhere.
        #expect((Precision.bf16.machineProblem == nil) == (OneDNN.isAvailable && OneDNN.isa.hasPrefix("avx512")))
        #expect(Precision.auto.machineProblem == nil)
        #expect(try parse(["--model", "cnn", "--conv-precision", "conv1:bbf"]).problems()
                    .contains { $0.contains("it needs --precision bf16 or auto") })
        #expect(try parse(["--model", "cnn", "--precision", "auto", "--conv-precision", "conv1:bbf"]).problems()
                    .isEmpty)
        #expect(throws: (any Error).self) { try parse(["--precision", "bf16", "--conv-precision", "conv1:xyz"]) }
    }

    @Test func refusesWithTheOptionNamed() {
        for (arguments, text) in [(["--lr", "abc"], "--lr: expected a number"),
                                  (["--loss", "x"], "expected one of ce,"),
                                  (["--epochs"], "--epochs: missing value"),
                                  (["--no-such"], "unknown option '--no-such'"),
                                  (["--augment=1"], "is a flag")] {
            #expect(throws: OptionError.self) { try parse(arguments) }
            do { _ = try parse(arguments) } catch { #expect("\(error)".contains(text), "\(arguments): \(error)") }
        }
    }

    @Test func configJSONRoundTripsAndListsEveryOption() throws {
        let c = try parse(["--lr", "0.2", "--metric-weight", "0.5", "--drw-epoch", "3"])
        let data = try JSONEncoder().encode(c)
        let keys = Set((try JSONSerialization.jsonObject(with: data) as! [String: Any]).keys)
        #expect(keys == Set(TrainConfig.parser.options.map(\.name)))
        #expect(try JSONDecoder().decode(TrainConfig.self, from: data) == c)
        // A checkpoint of an older version lacks newer keys: they take their defaults.
        let old = try JSONDecoder().decode(TrainConfig.self, from: Data(#"{"lr": 0.3, "loss": "ce"}"#.utf8))
        #expect(old.lr == 0.3 && old.loss == .ce && old.embeddingLoss == .none && old.epochs == 30)
        #expect(throws: (any Error).self) { try JSONDecoder().decode(TrainConfig.self,
                                                                     from: Data(#"{"learning-rate": 1}"#.utf8)) }
    }

    @Test func helpListsEveryOptionWithItsDefault() {
        let help = TrainConfig.parser.help()
        for option in TrainConfig.parser.options { #expect(help.contains("--\(option.name)"), "\(option.name)") }
        #expect(help.contains("(default: 0.1)") && help.contains("values: ce, focal, ib"))
    }
}
