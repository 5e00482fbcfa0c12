/// The flat coding of the figures: one key per number, as metrics.jsonl, `eval --json`,
/// metrics.csv and TensorBoard name them (`test_acc`, `many_posthoc`, `unseen_map_at_r`, ...).
/// The one place those keys are written and read.
struct FlatKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(_ name: String) { stringValue = name }
    init?(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}

typealias FlatEncoding = KeyedEncodingContainer<FlatKey>
typealias FlatDecoding = KeyedDecodingContainer<FlatKey>

extension AccuracyFigures {
    /// The validation split's key for a test key: `val_acc`, `val_nll`, `val_balanced_acc`, ...
    static func validationKey(_ key: String) -> String {
        key.hasPrefix("test_") ? "val_" + key.dropFirst(5) : "val_" + key
    }

    /// `test_acc`, `balanced_acc`, `many`, `medium`, `few`, `per_class_acc`, `confusion`, each
    /// with `suffix` (`_posthoc`).
    func encode(into c: inout FlatEncoding, suffix: String = "") throws {
        try encode(into: &c) { $0 + suffix }
    }

    /// The figures under the keys `name` makes of the test keys (an empty confusion matrix is left out).
    func encode(into c: inout FlatEncoding, name: (String) -> String) throws {
        try c.encode(accuracy, forKey: FlatKey(name("test_acc")))
        try c.encode(balanced, forKey: FlatKey(name("balanced_acc")))
        try c.encode(many, forKey: FlatKey(name("many")))
        try c.encode(medium, forKey: FlatKey(name("medium")))
        try c.encode(few, forKey: FlatKey(name("few")))
        try c.encode(perClass, forKey: FlatKey(name("per_class_acc")))
        if !confusion.isEmpty { try c.encode(confusion, forKey: FlatKey(name("confusion"))) }
        // An empty shot group is null; the tally's figures are absent when not measured.
        for (key, value) in [("many_shot", manyShot), ("medium_shot", mediumShot), ("few_shot", fewShot)] {
            if let value { try c.encode(value, forKey: FlatKey(name(key))) } else {
                try c.encodeNil(forKey: FlatKey(name(key)))
            }
        }
        for (key, value) in [("top5_acc", top5), ("test_nll", nll), ("ece", ece), ("ece_balanced", eceBalanced)] {
            try c.encodeIfPresent(value, forKey: FlatKey(name(key)))
        }
        try c.encodeIfPresent(reliability, forKey: FlatKey(name("reliability")))
    }

    /// The figures, or nil where the file has no `test_acc` + `suffix`.
    static func decode(from c: FlatDecoding, suffix: String = "") throws -> AccuracyFigures? {
        try decode(from: c) { $0 + suffix }
    }

    /// The figures under the keys `name` makes of the test keys, or nil where there are none.
    static func decode(from c: FlatDecoding, name: (String) -> String) throws -> AccuracyFigures? {
        guard let accuracy = try c.decodeIfPresent(Double.self,
                                                   forKey: FlatKey(name("test_acc"))) else { return nil }
        func number(_ key: String) throws -> Double? {
            try c.decodeIfPresent(Double.self, forKey: FlatKey(name(key)))
        }
        var f = AccuracyFigures(confusion: try c.decodeIfPresent([[Int]].self,
                                                                forKey: FlatKey(name("confusion"))) ?? [],
                               accuracy: accuracy,
                               perClass: try c.decodeIfPresent([Double].self,
                                                               forKey: FlatKey(name("per_class_acc"))) ?? [],
                               balanced: try c.decode(Double.self, forKey: FlatKey(name("balanced_acc"))),
                               many: try c.decode(Double.self, forKey: FlatKey(name("many"))),
                               medium: try c.decode(Double.self, forKey: FlatKey(name("medium"))),
                               few: try c.decode(Double.self, forKey: FlatKey(name("few"))))
        (f.manyShot, f.mediumShot, f.fewShot) = (try number("many_shot"), try number("medium_shot"),
                                                 try number("few_shot"))
        (f.top5, f.nll, f.ece, f.eceBalanced) = (try number("top5_acc"), try number("test_nll"), try number("ece"),
                                                 try number("ece_balanced"))
        f.reliability = try c.decodeIfPresent([[Double]].self, forKey: FlatKey(name("reliability")))
        return f
    }
}

extension RetrievalMetrics {
    /// `precision_at_1`, `r_precision`, `map_at_r` with `prefix` (`unseen_`), and the per-class
    /// lists unless `perClass` is false.
    func encode(into c: inout FlatEncoding, prefix: String = "", perClass: Bool = true) throws {
        try c.encode(precisionAt1, forKey: FlatKey(prefix + "precision_at_1"))
        try c.encode(rPrecision, forKey: FlatKey(prefix + "r_precision"))
        try c.encode(mapAtR, forKey: FlatKey(prefix + "map_at_r"))
        guard perClass else { return }
        try c.encode(precisionAt1PerClass, forKey: FlatKey(prefix + "precision_at_1_per_class"))
        try c.encode(rPrecisionPerClass, forKey: FlatKey(prefix + "r_precision_per_class"))
        try c.encode(mapAtRPerClass, forKey: FlatKey(prefix + "map_at_r_per_class"))
    }

    static func decode(from c: FlatDecoding, prefix: String = "") throws -> RetrievalMetrics? {
        guard let p1 = try c.decodeIfPresent(Double.self,
                                             forKey: FlatKey(prefix + "precision_at_1")) else { return nil }
        func list(_ key: String) throws -> [Double] { try c.decodeIfPresent([Double].self,
                                                                            forKey: FlatKey(prefix + key)) ?? [] }
        return RetrievalMetrics(precisionAt1: p1,
                                rPrecision: try c.decode(Double.self, forKey: FlatKey(prefix + "r_precision")),
                                mapAtR: try c.decode(Double.self, forKey: FlatKey(prefix + "map_at_r")),
                                precisionAt1PerClass: try list("precision_at_1_per_class"),
                                rPrecisionPerClass: try list("r_precision_per_class"),
                                mapAtRPerClass: try list("map_at_r_per_class"))
    }
}

extension TestFigures {
    /// Every figure under its key; absent figures have no key.
    func encode(into c: inout FlatEncoding) throws {
        try test.encode(into: &c)
        try posthoc?.encode(into: &c, suffix: "_posthoc")
        try taunorm?.encode(into: &c, suffix: "_taunorm")
        try c.encodeIfPresent(tauChosen, forKey: FlatKey("tau_norm_chosen"))
        if var val {
            (val.confusion, val.reliability) = ([], nil)  // the test set's alone
            try val.encode(into: &c, name: AccuracyFigures.validationKey)
        }
        try retrieval?.encode(into: &c)
        try unseen?.encode(into: &c, prefix: "unseen_", perClass: false)
        if let clusters {
            try c.encode(clusters.nmi, forKey: FlatKey("nmi"))
            try c.encode(clusters.ami, forKey: FlatKey("ami"))
            try c.encode(clusters.varianceRatio, forKey: FlatKey("variance_ratio"))
        }
    }

    init(from c: FlatDecoding) throws {
        guard let test = try AccuracyFigures.decode(from: c) else {
            throw DecodingError.keyNotFound(FlatKey("test_acc"),
                                            .init(codingPath: c.codingPath, debugDescription: "no test accuracy"))
        }
        var clusters: ClusterQuality?
        if let nmi = try c.decodeIfPresent(Double.self, forKey: FlatKey("nmi")) {
            clusters = ClusterQuality(nmi: nmi, ami: try c.decode(Double.self, forKey: FlatKey("ami")),
                                      varianceRatio: try c.decode(Double.self, forKey: FlatKey("variance_ratio")))
        }
        self.init(test: test, posthoc: try AccuracyFigures.decode(from: c, suffix: "_posthoc"),
                  retrieval: try RetrievalMetrics.decode(from: c),
                  unseen: try RetrievalMetrics.decode(from: c, prefix: "unseen_"),
                  clusters: clusters)
        taunorm = try AccuracyFigures.decode(from: c, suffix: "_taunorm")
        tauChosen = try c.decodeIfPresent(Double.self, forKey: FlatKey("tau_norm_chosen"))
        val = try AccuracyFigures.decode(from: c, name: AccuracyFigures.validationKey)
    }
}

extension EpochMetrics: Codable {
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: FlatKey.self)
        try c.encode(event, forKey: FlatKey("event"))
        try c.encode(epoch, forKey: FlatKey("epoch"))
        try c.encode(step, forKey: FlatKey("step"))
        try c.encode(lr, forKey: FlatKey("lr"))
        let t = training
        try c.encode(t.trainLoss, forKey: FlatKey("train_loss"))
        try c.encode(t.lossPhase, forKey: FlatKey("loss_phase"))
        try c.encode(t.classCounts, forKey: FlatKey("class_counts"))
        try c.encode(t.classWeights, forKey: FlatKey("class_weights"))
        try c.encode(t.omega, forKey: FlatKey("omega"))
        try c.encode(t.samplesPerS, forKey: FlatKey("samples_per_s"))
        try c.encode(t.epochSeconds, forKey: FlatKey("epoch_seconds"))
        try c.encode(t.skippedSteps, forKey: FlatKey("skipped_steps"))
        try c.encode(t.exposedCommSeconds, forKey: FlatKey("exposed_comm_seconds"))
        try c.encode(t.worldSize, forKey: FlatKey("world_size"))
        if !t.sampledPerClass.isEmpty { try c.encode(t.sampledPerClass, forKey: FlatKey("sampled_per_class")) }
        try c.encode(t.stage, forKey: FlatKey("stage"))
        try c.encode(t.phase, forKey: FlatKey("phase"))
        try figures.encode(into: &c)
        try c.encodeIfPresent(profile, forKey: FlatKey("profile"))
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: FlatKey.self)
        func value<T: Decodable>(_ key: String) throws -> T { try c.decode(T.self, forKey: FlatKey(key)) }
        let training = TrainingFigures(
            trainLoss: try value("train_loss"), lossPhase: try value("loss_phase"),
                classCounts: try value("class_counts"),
            classWeights: try value("class_weights"), omega: try value("omega"),
                samplesPerS: try value("samples_per_s"),
            epochSeconds: try value("epoch_seconds"), skippedSteps: try value("skipped_steps"),
            exposedCommSeconds: try value("exposed_comm_seconds"), worldSize: try value("world_size"))
        var trained = training
        trained.sampledPerClass = try c.decodeIfPresent([Int].self, forKey: FlatKey("sampled_per_class")) ?? []
        trained.stage = try c.decodeIfPresent(Int.self, forKey: FlatKey("stage")) ?? 1
        trained.phase = try c.decodeIfPresent(Int.self, forKey: FlatKey("phase")) ?? 1
        self.init(event: try value("event"), epoch: try value("epoch"), step: try value("step"), lr: try value("lr"),
                  training: trained, figures: try TestFigures(from: c),
                  profile: try c.decodeIfPresent([String: Double].self, forKey: FlatKey("profile")))
    }
}
