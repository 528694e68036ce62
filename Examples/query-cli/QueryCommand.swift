import ArgumentParser
import Foundation
import QueryCore
import QueryTransport

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
