import Settings

/// Model selection on the validation split (`--select-by`): the epoch whose validation figure is
/// best, found from the metrics lines themselves (so a resumed run knows it without more state).
public enum Selection {
    /// The validation keys a run can be selected by (`val_balanced_acc`, `val_nll`, ...).
    public static let keys = AccuracyFigures.scalarNames.map(AccuracyFigures.validationKey)

    /// NLL and calibration errors are better low; accuracies high.
    public static func lowerIsBetter(_ key: String) -> Bool { key.contains("nll") || key.contains("ece") }

    /// The epoch line with the best `key` (the first of equals), nil when none measured it.
    public static func best(_ lines: [EpochMetrics], by key: String) -> EpochMetrics? {
        let low = lowerIsBetter(key)
        var best: (line: EpochMetrics, value: Double)?
        for line in lines where line.event == "epoch" {
            guard let v = line.value(key), v.isFinite else { continue }
            if best == nil || (low ? v < best!.value : v > best!.value) { best = (line, v) }
        }
        return best?.line
    }
}

extension EpochMetrics {
    /// The line's scalar figure `key` (`EpochMetrics.scalars`), nil where not measured.
    public func value(_ key: String) -> Double? { scalars.first { $0.0 == key }?.1 ?? nil }
}

extension Options {
    public var selectBy: Option<String> {
        Option("select-by", "val_balanced_acc",
               "The validation figure that chooses best.safetensors (and best.ckpt) with --val-split: any of " +
               Selection.keys.joined(separator: ", ") + " (lower is better for NLL and ECE).",
               check: OptionCheck { Selection.keys.contains($0) ? nil
                   : "must be a validation key (\(Selection.keys.joined(separator: ", "))), got \($0)" })
    }
}
