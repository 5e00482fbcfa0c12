import Data
import Foundation
import NN
import Testing
@testable import Training

/// The card of a model survives the trip through safetensors metadata; a damaged field is
/// refused with the file and the field named; a file without a card gives none.
@Suite struct ModelCardTests {
    static let card = ModelCard(model: .cnn, head: "cosine:3", data: DataStatistics(
        inputShape: [1, 28, 28], classes: 3, classNames: ["T-shirt/top", "a, \"quoted\" name", "Ankle boot"],
        mean: [0.2860402], std: [0.3530239], trainCounts: [6000, 774, 60]))

    @Test func metadataRoundTrip() throws {
        #expect(try ModelCard.from(metadata: Self.card.metadata, path: "w.safetensors") == Self.card)
        var m = Self.card.metadata
        m["train_counts"] = nil
        #expect(try ModelCard.from(metadata: m, path: "w.safetensors") == nil)
        #expect(Self.card.parsedHead == .cosine(subCenters: 3))
    }

    @Test(arguments: [("mean", "0.28,x"), ("classes", "ten"), ("class_names", "[T-shirt"), ("input_shape", "1,28,"),
                      ("train_counts", "6000,774,sixty"), ("model", "resnet56")])
    func damagedFieldIsNamed(field: String, value: String) {
        var m = Self.card.metadata
        m[field] = value
        do {
            _ = try ModelCard.from(metadata: m, path: "w.safetensors")
            Issue.record("\(field) = \(value) accepted")
        } catch {
            #expect("\(error)".contains("w.safetensors") && "\(error)".contains("\"\(field)\""), "\(error)")
        }
    }

    @Test(arguments: [("std", "0"), ("input_shape", "1,28"), ("train_counts", "1,2"), ("head", "cosine:0"),
                      ("mean", "0.1,0.2")])
    func unsoundCardIsRefused(field: String, value: String) {
        var m = Self.card.metadata
        m[field] = value
        #expect(throws: (any Error).self) { try ModelCard.from(metadata: m, path: "w.safetensors") }
    }
}
