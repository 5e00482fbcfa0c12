import Settings

/// `--shot-thresholds MANY,FEW`: the shot groups of the long-tail literature (OLTR, decoupling,
/// ImageNet-LT / Places-LT) by training count: many-shot above MANY, medium-shot from FEW to
/// MANY, few-shot below FEW (default 100,20).
public struct ShotThresholds: OptionValue, Hashable {
    public var many: Int
    public var few: Int

    public init(many: Int = 100, few: Int = 20) {
        self.many = many
        self.few = few
    }

    public static func parse(_ values: [String]) -> ShotThresholds? {
        guard values.count == 1 else { return nil }
        let parts = values[0].split(separator: ",", omittingEmptySubsequences: false).map { Int($0) }
        guard parts.count == 2, let many = parts[0], let few = parts[1] else { return nil }
        return ShotThresholds(many: many, few: few)
    }

    public static var expected: String { "two training counts MANY,FEW such as 100,20" }
    public var text: String { "\(many),\(few)" }

    /// Why the thresholds cannot be used, or nil.
    public var problem: String? {
        few >= 0 && many >= few ? nil : "must be MANY,FEW with MANY >= FEW >= 0, got \(text)"
    }

    /// The classes of each group (ascending), given the global training counts.
    public func groups(trainCounts: [Int]) -> (many: [Int], medium: [Int], few: [Int]) {
        let k = trainCounts.indices
        return (k.filter { trainCounts[$0] > many }, k.filter { trainCounts[$0] >= few && trainCounts[$0] <= many },
                k.filter { trainCounts[$0] < few })
    }

    public init(from decoder: Decoder) throws {
        let values = try decoder.singleValueContainer().decode([Int].self)
        guard values.count == 2 else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath,
                                                    debugDescription: "expected [MANY, FEW], got \(values)"))
        }
        self.init(many: values[0], few: values[1])
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode([many, few])
    }
}

extension Options {
    public var shotThresholds: Option<ShotThresholds> {
        Option("shot-thresholds", ShotThresholds(),
               "Training counts that bound the shot groups (many_shot, medium_shot, few_shot): many above MANY, " +
               "medium from FEW to MANY, few below FEW.", check: OptionCheck { $0.problem })
    }
}
