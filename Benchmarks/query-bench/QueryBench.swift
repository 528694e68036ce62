import ArgumentParser

/// `query-bench`: micro- and macro-benchmarks of swift-query, one subcommand per suite.
///
/// Every suite prints one figure per line as `name value unit`. Run a suite in release mode:
/// `swift run -c release query-bench <suite>`.
@main
struct QueryBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "query-bench",
        abstract: "Benchmarks of swift-query; each suite prints `name value unit` lines.",
        subcommands: [
            // One suite per line; add yours here.
            CoreBenchmark.self,
            DeltaBenchmark.self,
            SQLBenchmark.self,
            StreamBenchmark.self,
            TreeBenchmark.self,
        ]
    )
}
