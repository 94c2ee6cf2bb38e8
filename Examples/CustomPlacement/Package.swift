// swift-tools-version:6.1
// A placement policy of one's own, as a package of its own: it depends on Euca's libraries and
// nothing in Euca changes.
import PackageDescription

let package = Package(
    name: "CustomPlacement",
    platforms: [.macOS(.v15)],
    products: [.library(name: "MostFreeMemory", targets: ["MostFreeMemory"])],
    dependencies: [
        .package(name: "Euca", path: "../.."),
        // For the loggers the cluster and node controllers take (the version Euca resolves).
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
    ],
    targets: [
        .target(name: "MostFreeMemory", dependencies: [
            .product(name: "EucaCore", package: "Euca"),
            .product(name: "EucaScheduler", package: "Euca"),
        ]),
        .executableTarget(name: "placement-demo", dependencies: [
            "MostFreeMemory",
            .product(name: "EucaCore", package: "Euca"),
            .product(name: "EucaScheduler", package: "Euca"),
        ]),
        // euca-cc with MOSTFREEMEMORY registered: `SCHEDPOLICY="MOSTFREEMEMORY"` selects it.
        .executableTarget(name: "euca-cc-mostfreememory", dependencies: [
            "MostFreeMemory",
            .product(name: "EucaDaemon", package: "Euca"),
        ]),
        // euca-sim with MOSTFREEMEMORY registered: `--policy MOSTFREEMEMORY` selects it.
        .executableTarget(name: "euca-sim-mostfreememory", dependencies: [
            "MostFreeMemory",
            .product(name: "EucaSimCommand", package: "Euca"),
        ]),
        // Euca's test helpers wired in: snapshots and contracts (EucaTesting), a whole cluster of
        // node controllers (EucaNode) on in-memory hypervisors placed by the policy, and the same
        // policy in the simulator (EucaSim).
        .testTarget(name: "MostFreeMemoryTests", dependencies: [
            "MostFreeMemory",
            .product(name: "EucaCore", package: "Euca"),
            .product(name: "EucaScheduler", package: "Euca"),
            .product(name: "EucaTesting", package: "Euca"),
            .product(name: "EucaCluster", package: "Euca"),
            .product(name: "EucaNode", package: "Euca"),
            .product(name: "EucaHypervisor", package: "Euca"),
            .product(name: "EucaSim", package: "Euca"),
            .product(name: "Logging", package: "swift-log"),
        ]),
    ]
)
