// swift-tools-version:6.1
import PackageDescription

let strict: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "Euca",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "EucaCore", targets: ["EucaCore"]),
        .library(name: "EucaStoreLMDB", targets: ["EucaStoreLMDB"]),
        .library(name: "EucaSecurity", targets: ["EucaSecurity"]),
        .library(name: "EucaHypervisor", targets: ["EucaHypervisor"]),
        .library(name: "EucaHypervisorLibvirt", targets: ["EucaHypervisorLibvirt"]),
        .library(name: "EucaScheduler", targets: ["EucaScheduler"]),
        .library(name: "EucaSim", targets: ["EucaSim"]),
        .library(name: "EucaSimCommand", targets: ["EucaSimCommand"]),
        .library(name: "EucaNet", targets: ["EucaNet"]),
        .library(name: "EucaNode", targets: ["EucaNode"]),
        .library(name: "EucaCluster", targets: ["EucaCluster"]),
        .library(name: "EucaCloud", targets: ["EucaCloud"]),
        .library(name: "EucaEC2API", targets: ["EucaEC2API"]),
        .library(name: "EucaTesting", targets: ["EucaTesting"]),
        .library(name: "EucaWire", targets: ["EucaWire"]),
        .library(name: "EucaHTTP", targets: ["EucaHTTP"]),
        .library(name: "EucaDaemon", targets: ["EucaDaemon"]),
        .library(name: "EucaNodeDaemon", targets: ["EucaNodeDaemon"]),
        .executable(name: "euca-cloud", targets: ["euca-cloud"]),
        .executable(name: "euca-clc", targets: ["euca-clc"]),
        .executable(name: "euca-cc", targets: ["euca-cc"]),
        .executable(name: "euca-nc", targets: ["euca-nc"]),
        .executable(name: "euca-admin", targets: ["euca-admin"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache.git", from: "2.1.1"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.5.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-certificates.git", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-asn1.git", from: "1.7.4"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
    ],
    targets: [
        // Thin module maps over the C libraries.
        .systemLibrary(name: "CLibvirt", pkgConfig: "libvirt", providers: [.apt(["libvirt-dev"])]),
        .systemLibrary(name: "CLMDB", pkgConfig: "lmdb", providers: [.apt(["liblmdb-dev"])]),

        .target(
            name: "EucaCore",
            dependencies: [],
            swiftSettings: strict
        ),
        .target(
            name: "EucaStoreLMDB",
            dependencies: ["EucaCore", "CLMDB"],
            swiftSettings: strict
        ),
        .target(
            name: "EucaSecurity",
            dependencies: [
                "EucaCore",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "CryptoExtras", package: "swift-crypto"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1")],
            swiftSettings: strict
        ),
        .target(
            name: "EucaHypervisor",
            dependencies: ["EucaCore"],
            swiftSettings: strict
        ),
        .target(
            name: "EucaHypervisorLibvirt",
            dependencies: [
                "EucaCore", "EucaHypervisor", "CLibvirt",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "EucaScheduler",
            dependencies: ["EucaCore"],
            swiftSettings: strict
        ),
        .target(
            name: "EucaNet",
            dependencies: ["EucaCore"],
            swiftSettings: strict
        ),
        .target(
            name: "EucaSim",
            dependencies: ["EucaCore", "EucaScheduler"],
            swiftSettings: strict
        ),
        .target(
            name: "EucaSimCommand",
            dependencies: ["EucaCore", "EucaScheduler", "EucaSim", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: strict
        ),
        .target(
            name: "EucaNode",
            dependencies: [
                "EucaCore", "EucaHypervisor", "EucaNet",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "EucaCluster",
            dependencies: [
                "EucaCore", "EucaScheduler",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "EucaCloud",
            dependencies: [
                "EucaCore", "EucaSecurity", "EucaNet", "EucaScheduler",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"), .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "X509", package: "swift-certificates")],
            swiftSettings: strict
        ),
        .target(
            name: "EucaConsole",
            dependencies: [
                "EucaCore", "EucaSecurity", "EucaCloud", "EucaHTTP",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Mustache", package: "swift-mustache"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "EucaHTTP",
            dependencies: [
                "EucaCore",
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "EucaEC2API",
            dependencies: [
                "EucaCore", "EucaSecurity", "EucaCloud", "EucaHTTP",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"), "EucaHypervisor", .product(name: "NIOCore", package: "swift-nio")],
            swiftSettings: strict
        ),
        .target(
            name: "EucaWire",
            dependencies: [
                "EucaCore", "EucaSecurity", "EucaCluster", "EucaNode", "EucaHTTP",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"), .product(name: "HTTPTypes", package: "swift-http-types"), .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOHTTP1", package: "swift-nio")],
            swiftSettings: strict
        ),
        .target(
            name: "EucaTesting",
            dependencies: [
                "EucaCore", "EucaHypervisor", "EucaScheduler", "EucaNet", "EucaCluster",
            ],
            swiftSettings: strict
        ),

        .target(
            name: "EucaDaemon",
            dependencies: [
                "EucaCore", "EucaCloud", "EucaCluster", "EucaConsole", "EucaEC2API", "EucaHTTP", "EucaNet", "EucaNode", "EucaSecurity", "EucaWire",
                "EucaScheduler", "EucaStoreLMDB", "EucaHypervisor",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"), .product(name: "ArgumentParser", package: "swift-argument-parser"), .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOHTTP1", package: "swift-nio")],
            swiftSettings: strict
        ),

        // The node controller's assembly: the one part of the daemons that links libvirt.
        .target(
            name: "EucaNodeDaemon",
            dependencies: [
                "EucaCore", "EucaDaemon", "EucaHTTP", "EucaNode", "EucaSecurity", "EucaWire", "EucaHypervisorLibvirt", "EucaStoreLMDB", "EucaNet",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"), "EucaHypervisor"],
            swiftSettings: strict
        ),

        // Daemons: thin mains that read configuration and compose the libraries.
        .executableTarget(
            name: "euca-cloud",
            dependencies: [
                "EucaCore", "EucaSecurity", "EucaNode", "EucaCluster", "EucaCloud", "EucaConsole", "EucaDaemon", "EucaNodeDaemon", "EucaStoreLMDB",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle")],
            path: "Sources/Daemons/euca-cloud",
            swiftSettings: strict
        ),
        .executableTarget(
            name: "euca-clc",
            dependencies: ["EucaCore", "EucaDaemon", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Sources/Daemons/euca-clc",
            swiftSettings: strict
        ),
        .executableTarget(
            name: "euca-cc",
            dependencies: ["EucaDaemon"],
            path: "Sources/Daemons/euca-cc",
            swiftSettings: strict
        ),
        .executableTarget(
            name: "euca-nc",
            dependencies: ["EucaCore", "EucaDaemon", "EucaNodeDaemon", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Sources/Daemons/euca-nc",
            swiftSettings: strict
        ),
        .executableTarget(
            name: "euca-admin",
            dependencies: ["EucaCore", "EucaCloud", "EucaDaemon", "EucaEC2API", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Sources/Daemons/euca-admin",
            swiftSettings: strict
        ),
        .executableTarget(
            name: "euca-sim",
            dependencies: ["EucaScheduler", "EucaSimCommand"],
            path: "Sources/Daemons/euca-sim",
            swiftSettings: strict
        ),
        .executableTarget(
            name: "euca-loadgen",
            dependencies: [
                "EucaSecurity",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Benchmarks/euca-loadgen",
            swiftSettings: strict
        ),
        .executableTarget(
            name: "euca-control-bench",
            dependencies: [
                "EucaCore", "EucaCloud", "EucaCluster", "EucaEC2API", "EucaHTTP", "EucaHypervisor", "EucaNet", "EucaNode", "EucaScheduler",
                "EucaSecurity", "EucaStoreLMDB", "EucaTesting", "EucaWire",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "X509", package: "swift-certificates"),
            ],
            path: "Benchmarks/euca-control-bench",
            swiftSettings: strict
        ),

        .testTarget(name: "EucaCoreTests", dependencies: ["EucaCore", "EucaStoreLMDB", "EucaTesting"], swiftSettings: strict),
        .testTarget(name: "EucaSecurityTests", dependencies: ["EucaSecurity", "EucaCore", .product(name: "Crypto", package: "swift-crypto")], swiftSettings: strict),
        .testTarget(
            name: "EucaWireTests",
            dependencies: [
                "EucaWire", "EucaCore", "EucaSecurity", "EucaNode", "EucaCluster", "EucaScheduler", "EucaTesting", "EucaHypervisor",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "X509", package: "swift-certificates"), .product(name: "Logging", package: "swift-log")],
            swiftSettings: strict
        ),
        .testTarget(name: "EucaNetTests", dependencies: ["EucaNet", "EucaCore"], swiftSettings: strict),
        .testTarget(name: "EucaConsoleTests", dependencies: ["EucaConsole", "EucaCore"], swiftSettings: strict),
        .testTarget(name: "EucaNodeTests", dependencies: ["EucaNode", "EucaCore", "EucaTesting", .product(name: "Crypto", package: "swift-crypto"), "EucaHypervisor", .product(name: "Logging", package: "swift-log")], swiftSettings: strict),
        .testTarget(name: "EucaSchedulerTests", dependencies: ["EucaScheduler", "EucaCore", "EucaTesting", "EucaSim"], swiftSettings: strict),
        .testTarget(
            name: "EucaSimTests",
            dependencies: [
                "EucaSim", "EucaScheduler", "EucaCore", "EucaTesting", "EucaCluster", "EucaNode", "EucaHypervisor",
                .product(name: "Logging", package: "swift-log")],
            swiftSettings: strict),
        .testTarget(
            name: "EucaEC2APITests",
            dependencies: [
                "EucaEC2API", "EucaCloud", "EucaCore", "EucaSecurity", "EucaTesting", "EucaNode", "EucaCluster",
                "EucaScheduler", "EucaHypervisor", .product(name: "Logging", package: "swift-log")],
            swiftSettings: strict
        ),
        .testTarget(
            name: "EucaCloudTests",
            dependencies: ["EucaCloud", "EucaCore", "EucaTesting", "EucaNode", "EucaCluster", "EucaScheduler", "EucaHypervisor", "EucaNet", "EucaSecurity", .product(name: "Logging", package: "swift-log")],
            swiftSettings: strict
        ),
        .testTarget(
            name: "IntegrationTests",
            dependencies: ["EucaHypervisorLibvirt", "EucaHypervisor", "EucaCore", "EucaTesting", "EucaStoreLMDB", "EucaNode", .product(name: "Logging", package: "swift-log")],
            swiftSettings: strict
        ),
    ]
)
