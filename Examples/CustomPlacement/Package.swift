// swift-tools-version:6.1
// A placement policy of one's own, as a package of its own: it depends on Euca's libraries and
// nothing in Euca changes.
import PackageDescription

let package = Package(
    name: "CustomPlacement",
    platforms: [.macOS(.v15)],
    products: [.library(name: "MostFreeMemory", targets: ["MostFreeMemory"])],
    dependencies: [.package(name: "Euca", path: "../..")],
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
        .testTarget(name: "MostFreeMemoryTests", dependencies: [
            "MostFreeMemory",
            .product(name: "EucaCore", package: "Euca"),
            .product(name: "EucaScheduler", package: "Euca"),
            .product(name: "EucaTesting", package: "Euca"),
        ]),
    ]
)
