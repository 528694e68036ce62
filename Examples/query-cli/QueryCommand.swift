import ArgumentParser
import Foundation
import QueryCore
import QuerySQL
import QueryTransport
import Synchronization

/// `query`: a SQL client for swift-query SQL nodes.
@main
struct QueryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "query",
        abstract: "Ask swift-query SQL nodes a query, or open an interactive shell.",
        discussion: """
            With SQL, prints the answer and exits (status 1 on error). Without SQL, reads statements
            ending in ';' from standard input; \\history lists earlier statements, \\! N reruns one,
            \\format table|csv|json switches the output, \\quit leaves. Several --node options fail over in
            order; redirects to another partition are followed.

            Persistent queries (the node's query manager): --register SQL prints the topic (--snapshot for a
            query over the collection tree re-evaluated every generation, --public to let anyone subscribe);
            --subscribe TOPIC prints one JSON line per trigger; --unregister TOPIC; --list;
            --register-metric 'Name(field type, …)'; --publish METRIC reads one JSON object per line from
            standard input. All act as --as PRINCIPAL (default $USER); over TLS (--tls-cert) the node takes
            the principal from the client certificate and refuses an --as it does not name.

            Load: --load-rate N --load-duration S --load-queries FILE sends N queries per second (open
            loop, round-robin over every --node) and prints `name value unit` lines.
            """)

    @Option(name: .customLong("node"), help: "A SQL node's host:port (repeat to fail over).")
    var nodes: [String] = []

    @Option(help: "Output format: table, csv or json.")
    var format: String = "table"

    @Option(help: "The node id to ask within each process, if a process hosts several.")
    var at: String?

    @Option(help: "Seconds to wait for one node's answer.")
    var timeout: Double = 60

    @Option(help: "TLS: this client's certificate (PEM), when the nodes require mutual TLS.")
    var tlsCert: String?

    @Option(help: "TLS: this client's private key (PEM).")
    var tlsKey: String?

    @Option(help: "TLS: the fleet CA certificate (PEM) the nodes' certificates chain to.")
    var tlsCA: String?

    @Argument(help: "The SQL statement (omit for an interactive shell).")
    var sql: String?

    @Option(
        name: .customLong("as"),
        help: "The principal manager requests act as (default $USER; with --tls-cert, the certificate's).")
    var principal: String?

    @Option(help: "Register a persistent query and print its topic.")
    var register: String?

    @Flag(help: "With --register: a snapshot query over the collection tree's tables, re-evaluated each generation.")
    var snapshot = false

    @Flag(name: .customLong("public"), help: "With --register: anyone may subscribe (default: only you).")
    var publicTopic = false

    @Option(help: "Unregister the statement with this topic.")
    var unregister: String?

    @Option(help: "Subscribe to a topic and print one JSON line per trigger.")
    var subscribe: String?

    @Option(help: "With --subscribe: exit after this many triggers.")
    var count: Int?

    @Flag(help: "List registered metrics and statements.")
    var list = false

    @Option(help: "Register a metric: 'Name(field type, …)'.")
    var registerMetric: String?

    @Option(help: "Publish events to this metric: one JSON object per line on standard input.")
    var publish: String?

    @Option(help: "Load: queries per second (open loop) over every --node.")
    var loadRate: Double?

    @Option(help: "Load: seconds to run.")
    var loadDuration: Double = 60

    @Option(help: "Load: a file of queries, each ending with ';' (cycled in order).")
    var loadQueries: String?

    @Option(help: "Load: the deployment's generation interval in seconds (to count missed generations).")
    var loadInterval: Double = 5

    private var managerAction: Bool {
        register != nil || unregister != nil || subscribe != nil || list || registerMetric != nil || publish != nil
    }

    func validate() throws {
        guard !nodes.isEmpty else { throw ValidationError("give at least one --node host:port") }
        guard (tlsCert == nil) == (tlsKey == nil) else {
            throw ValidationError("--tls-cert and --tls-key go together")
        }
        guard ResultFormatter.Format(rawValue: format) != nil else {
            throw ValidationError("unknown format '\(format)'; use table, csv or json")
        }
    }

    func run() async throws {
        var endpoints: [Endpoint] = []
        for node in nodes {
            do {
                endpoints.append(try Endpoint(parsing: node))
            } catch {
                throw ValidationError(error.message)
            }
        }
        var node: NodeID?
        if let at {
            do { node = try NodeID(validating: at) } catch { throw ValidationError(error.message) }
        }
        let client = QueryClient(
            endpoints: endpoints,
            configuration: .init(
                queryTimeout: .nanoseconds(Int64(timeout * 1e9)),
                tls: tlsCert.map { TLSSettings(certificateChainFile: $0, privateKeyFile: tlsKey ?? "", trustRootsFile: tlsCA) }))
        var format = ResultFormatter.Format(rawValue: format) ?? .table
        if loadRate != nil {
            try await runLoad(endpoints: endpoints, configuration: client.configuration)
            return
        }
        if managerAction {
            do {
                try await client.withSession { session in try await manage(session) }
            } catch {
                FileHandle.standardError.write(Data("error: \(error)\n".utf8))
                throw ExitCode(1)
            }
            return
        }
        if let sql {
            do {
                let (answer, _) = try await client.query(sql, node: node)
                print(ResultFormatter.render(answer, as: format))
            } catch {
                FileHandle.standardError.write(Data("error: \(error)\n".utf8))
                throw ExitCode(1)
            }
            return
        }
        try await shell(client: client, node: node, format: &format)
    }

    /// Runs the manager actions given on the command line, in a fixed order.
    private func manage(_ session: QuerySession) async throws {
        // Over TLS the node names the principal from the client certificate: send none unless --as
        // asks for one (the node refuses a name its certificate does not carry).
        let me: Principal? =
            if let principal { Principal(principal) } else if tlsCert != nil { nil } else {
                Principal(ProcessInfo.processInfo.environment["USER"] ?? "anonymous")
            }
        if let registerMetric {
            let (name, schema) = try ManagerActions.metric(registerMetric)
            _ = try await session.manage(.registerMetric(name: name, schema: schema, publishers: .anyone), as: me)
            print("metric \(name)")
        }
        if let register {
            let topic = try await session.register(
                register, kind: snapshot ? .snapshot : .stream, subscribers: publicTopic ? .anyone : .only([]), as: me)
            print(topic.name)
        }
        if let unregister {
            _ = try await session.manage(.unregisterStatement(topic: unregister), as: me)
        }
        if let publish {
            var events: [[String: Value]] = []
            var number = 0
            while let line = readLine() {
                number += 1
                if line.trimmingCharacters(in: .whitespaces).isEmpty { continue }
                events.append(try ManagerActions.event(line, number: number))
            }
            let triggers = try await session.publish(publish, events: events, as: me)
            print("published \(events.count) events, \(triggers) triggers")
        }
        if list {
            guard case .listing(let listing) = try await session.manage(.list, as: me) else { return }
            print(ManagerActions.render(listing))
        }
        if let subscribe {
            let triggers = try await session.subscribe(TopicHandle(name: subscribe), as: me)
            var received = 0
            for try await trigger in triggers {
                // Written unbuffered, so a pipe sees each trigger as it arrives.
                FileHandle.standardOutput.write(Data((ManagerActions.json(trigger) + "\n").utf8))
                received += 1
                if let count, received >= count { break }
            }
        }
    }

    /// Drives the nodes with ``LoadGenerator`` and prints its figures.
    private func runLoad(endpoints: [Endpoint], configuration: QueryClient.Configuration) async throws {
        guard let loadQueries, let rate = loadRate, rate > 0, loadDuration > 0 else {
            throw ValidationError("--load-rate needs a positive rate, --load-duration and --load-queries FILE")
        }
        let text = try String(contentsOfFile: loadQueries, encoding: .utf8)
        let queries = text.components(separatedBy: ";\n").map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
            .map { $0.hasSuffix(";") ? String($0.dropLast()) : $0 }.filter { !$0.isEmpty && !$0.hasPrefix("--") }
        guard !queries.isEmpty else { throw ValidationError("no queries in \(loadQueries)") }
        let generator = LoadGenerator(
            endpoints: endpoints, rate: rate, duration: loadDuration, queries: queries, interval: loadInterval,
            configuration: configuration)
        let report = try await generator.run()
        for line in report.lines { print(line) }
        if let firstError = report.firstError {
            FileHandle.standardError.write(Data("first error: \(firstError)\n".utf8))
        }
    }

    /// The interactive shell: statements end with ';', backslash commands act at once.
    private func shell(client: QueryClient, node: NodeID?, format: inout ResultFormatter.Format) async throws {
        var history: [String] = []
        var pending = ""
        let interactive = isatty(STDIN_FILENO) != 0
        func prompt() {
            guard interactive else { return }
            FileHandle.standardOutput.write(Data((pending.isEmpty ? "query> " : "   ...> ").utf8))
        }
        if interactive { print("Connected to \(nodes.joined(separator: ", ")). End statements with ';'. \\quit to leave.") }
        prompt()
        while let line = readLine() {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if pending.isEmpty && trimmed.hasPrefix("\\") {
                let parts = trimmed.split(separator: " ", maxSplits: 1).map(String.init)
                switch parts[0] {
                case "\\q", "\\quit":
                    return
                case "\\history", "\\h":
                    for (index, statement) in history.enumerated() { print("\(index + 1)  \(statement)") }
                case "\\format":
                    if parts.count == 2, let chosen = ResultFormatter.Format(rawValue: parts[1]) {
                        format = chosen
                    } else {
                        print("usage: \\format table|csv|json")
                    }
                case "\\!":
                    if parts.count == 2, let number = Int(parts[1]), history.indices.contains(number - 1) {
                        await ask(history[number - 1], client: client, node: node, format: format)
                    } else {
                        print("usage: \\! N (see \\history)")
                    }
                default:
                    print("unknown command \(parts[0]); try \\history, \\! N, \\format, \\quit")
                }
                prompt()
                continue
            }
            pending += (pending.isEmpty ? "" : "\n") + line
            if trimmed.hasSuffix(";") {
                let statement = pending.trimmingCharacters(in: .whitespacesAndNewlines)
                pending = ""
                history.append(statement)
                await ask(statement, client: client, node: node, format: format)
            }
            prompt()
        }
    }

    private func ask(_ statement: String, client: QueryClient, node: NodeID?, format: ResultFormatter.Format) async {
        do {
            let (answer, _) = try await client.query(statement, node: node)
            print(ResultFormatter.render(answer, as: format))
        } catch {
            print("error: \(error)")
        }
    }
}
