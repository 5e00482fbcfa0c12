/// `--recipe NAME`: named presets, expanded into options before the config file and the command line.
enum Recipes {
    static let all: [(name: String, arguments: [String])] = [
        // The default job: long-tailed Fashion-MNIST, mlp, IB loss, 30 epochs.
        ("fmnist-lt-mlp", ["--data", "/usr/share/datasets/fashion-mnist", "--imbalance-ratio", "100", "--model", "mlp",
                           "--loss", "ib", "--epochs", "30"]),
        // The IB paper's CIFAR-10-LT setting (Park et al. 2021): ResNet-32, ratio 100, 200 epochs, IB from epoch 100.
        ("ib-paper-cifar10", ["--model", "resnet32", "--imbalance-ratio", "100", "--imbalance-profile", "exp",
                              "--subset", "ldam",
                              "--loss", "ib", "--epochs", "200", "--batch-size", "128", "--lr", "0.1",
                              "--weight-decay", "2e-4", "--momentum", "0.9", "--ib-start-epoch", "100",
                              "--warmup-epochs", "5", "--schedule", "ib-paper", "--augment"]),
        // LDAM-DRW (Cao et al. 2019): LDAM on the cosine head, class-balanced weights from 80% of the epochs on.
        ("ldam-drw", ["--loss", "ldam", "--class-weights", "cb", "--cb-beta", "0.9999", "--drw-epoch", "80%",
                      "--subset", "ldam"]),
        // LDAM-DRS (Cao et al. 2019, --train_rule DRS): LDAM, class-balanced re-sampling from 80% of the epochs on.
        ("ldam-drs", ["--loss", "ldam", "--drs-epoch", "80%"]),
    ]

    static var names: [String] { all.map(\.name) }

    static func arguments(_ name: String) -> [String]? { all.first { $0.name == name }?.arguments }
}
