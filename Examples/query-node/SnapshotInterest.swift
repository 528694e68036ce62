import Logging
import QueryCore
import QuerySQL
import QueryTransport
import ServiceLifecycle

/// Keeps the tables that snapshot persistent queries read wanted by the SQL node.
///
/// A SQL node requests a table when a query names it and lets it go after `idleExpiry` without
/// use. Snapshot queries are evaluated straight on each generation's catalog, which is not a use,
/// so after every generation this service asks the node each snapshot query whose tables are
/// missing (the node requests them for a future generation), and every other generation the rest
/// (well inside the default expiry of five intervals). Answers are discarded.
final class SnapshotInterest<T: Transport, C: Clock>: Service where C.Duration == Duration {
    private let runtime: NodeRuntime<T, C>
    private let manager: QueryManagerService
    private let evaluator: any QueryEvaluator
    private let logger: Logger
    private let requests: AsyncStream<(String, NodeID)>
    private let sink: AsyncStream<(String, NodeID)>.Continuation

    init(runtime: NodeRuntime<T, C>, manager: QueryManagerService, evaluator: any QueryEvaluator, logger: Logger) {
        self.runtime = runtime
        self.manager = manager
        self.evaluator = evaluator
        self.logger = logger
        (requests, sink) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1024))
    }

    /// Called on each new generation (from ``NodeRuntime/onNewGeneration(_:)``).
    func generationArrived(_ snapshot: GenerationSnapshot) {
        let everything = snapshot.generation.number % 2 == 0
        for sql in manager.snapshotQueries {
            let tables = (try? evaluator.tablesReferenced(by: sql, catalog: snapshot.catalog)) ?? []
            if everything || tables.contains(where: { snapshot.catalog.table($0) == nil }) {
                sink.yield((sql, snapshot.node))
            }
        }
    }

    func run() async throws {
        await cancelWhenGracefulShutdown {
            await withDiscardingTaskGroup { group in
                for await (sql, node) in self.requests {
                    group.addTask {
                        do {
                            _ = try await self.runtime.query(sql, at: node)
                        } catch {
                            self.logger.debug("snapshot query not answered", metadata: ["error": "\(error)"])
                        }
                    }
                }
            }
        }
    }
}
