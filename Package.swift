// swift-tools-version: 6.1
import PackageDescription

/// swift-query: snapshot SQL over a collection tree, and persistent queries over event streams.
///
/// Dependency direction is one-way: QueryCore ← QuerySQL ← QueryTransport / QuerySim ← Examples.
let package = Package(
    name: "swift-query",
    products: [
        .library(name: "QueryCore", targets: ["QueryCore"]),
        .library(name: "QuerySQL", targets: ["QuerySQL"]),
        .library(name: "QueryTransport", targets: ["QueryTransport"]),
        .library(name: "QuerySim", targets: ["QuerySim"]),
        .executable(name: "query-demo", targets: ["query-demo"]),
        .executable(name: "query-sim", targets: ["query-sim"]),
        .executable(name: "query-sqllogictest", targets: ["query-sqllogictest"]),
        .executable(name: "query-bench", targets: ["query-bench"]),
        .executable(name: "query-replay", targets: ["query-replay"]),
        .executable(name: "query-node", targets: ["query-node"]),
        .executable(name: "query", targets: ["query"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-collections.git", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.5.2"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-certificates.git", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-asn1.git", from: "1.7.4"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
    ],
    targets: [
        // System zlib from Debian's zlib1g-dev.
        .systemLibrary(
            name: "CZlib",
            pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev"]), .brew(["zlib"])]
        ),

        // MARK: Libraries
        .target(
            name: "QueryCore",
            dependencies: [
                "CZlib",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "HeapModule", package: "swift-collections"),
            ]
        ),
        .target(
            name: "QuerySQL",
            dependencies: ["QueryCore"]
        ),
        .target(
            name: "QueryTransport",
            dependencies: [
                "QueryCore", "QuerySQL",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .target(
            name: "QuerySim",
            dependencies: [
                "QueryCore", "QuerySQL",
                .product(name: "HeapModule", package: "swift-collections"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The sqllogictest runner (SQLite's conformance format), shared by the executable and the tests.
        .target(
            name: "SQLLogicTest",
            dependencies: [
                "QueryCore", "QuerySQL",
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),

        // MARK: Executables
        .executableTarget(
            name: "query-demo",
            dependencies: ["QueryCore", "QuerySQL", "QuerySim"],
            path: "Examples/query-demo"
        ),
        .executableTarget(
            name: "query-sim",
            dependencies: [
                "QueryCore", "QuerySQL", "QuerySim",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Examples/query-sim"
        ),
        .executableTarget(
            name: "query-sqllogictest",
            dependencies: [
                "SQLLogicTest",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Examples/query-sqllogictest"
        ),
        .executableTarget(
            name: "query-replay",
            dependencies: [
                "QueryCore", "QuerySQL",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Examples/query-replay"
        ),
        .executableTarget(
            name: "query-bench",
            dependencies: [
                "QueryCore", "QuerySQL", "QuerySim",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Benchmarks/query-bench"
        ),
        .executableTarget(
            name: "query-node",
            dependencies: [
                "QueryCore", "QuerySQL", "QueryTransport",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                "QuerySim",
            ],
            path: "Examples/query-node"
        ),
        .executableTarget(
            name: "query",
            dependencies: [
                "QueryCore", "QuerySQL", "QueryTransport",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Examples/query-cli"
        ),

        // MARK: Tests
        .testTarget(name: "QueryCoreTests", dependencies: ["QueryCore"]),
        .testTarget(name: "QuerySQLTests", dependencies: ["QueryCore", "QuerySQL", "SQLLogicTest"]),
        .testTarget(
            name: "QueryTransportTests",
            dependencies: [
                "QueryCore", "QuerySQL", "QueryTransport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOTestUtils", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "MetricsTestKit", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .testTarget(name: "QuerySimTests", dependencies: ["QueryCore", "QuerySQL", "QuerySim"]),
        .testTarget(name: "QueryDemoTests", dependencies: ["query-demo", "QueryCore", "QuerySQL"]),
        .testTarget(name: "QueryBenchTests", dependencies: ["query-bench"]),
    ]
)

// Upcoming features for every target (as grpc-swift-2 and swift-log do).
for target in package.targets where target.type != .system {
    var settings = target.swiftSettings ?? []
    settings.append(.enableUpcomingFeature("ExistentialAny"))
    settings.append(.enableUpcomingFeature("MemberImportVisibility"))
    target.swiftSettings = settings
}
