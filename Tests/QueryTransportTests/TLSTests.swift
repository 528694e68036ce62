import Foundation
import MetricsTestKit
import QueryCore
import Testing

@testable import QueryTransport

/// Where the `openssl` command is, if anywhere.
let opensslPath: String? = ["/usr/bin/openssl", "/usr/local/bin/openssl", "/opt/homebrew/bin/openssl"]
    .first { FileManager.default.isExecutableFile(atPath: $0) }

/// Mutual TLS between peers and for clients, with certificates made by the `openssl` command in a
/// temporary directory (the suite is skipped, with a message, where `openssl` is missing).
@Suite("TLS", .serialized, .enabled(if: opensslPath != nil, "openssl not found; TLS tests skipped"))
struct TLSTests {
    static var openssl: String? { opensslPath }

    /// A CA, two certificates it signed, and a self-signed rogue certificate.
    struct Certificates {
        var directory: URL
        var ca: String { directory.appendingPathComponent("ca.pem").path }
        func certificate(_ name: String) -> String { directory.appendingPathComponent("\(name).pem").path }
        func key(_ name: String) -> String { directory.appendingPathComponent("\(name).key").path }

        func settings(_ name: String) -> TLSSettings {
            TLSSettings(certificateChainFile: certificate(name), privateKeyFile: key(name), trustRootsFile: ca)
        }
    }

    static func run(_ arguments: [String], in directory: URL) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: openssl!)
        process.arguments = arguments
        process.currentDirectoryURL = directory
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw QueryError(.internalError, "openssl \(arguments.joined(separator: " ")) failed")
        }
    }

    /// Makes the CA, `server`, `client` and `rogue`, plus one CA-signed certificate per entry of
    /// `subjects` (file name → subject, e.g. `"/O=fleet/CN=alice"`).
    /// A CA and certificates signed by it: `server` and `client`, one per `subjects` entry (name →
    /// subject), each with the alternative names `IP:127.0.0.1,DNS:localhost` plus those in
    /// `alternativeNames` (name → openssl `subjectAltName` items, e.g. `URI:spiffe://fleet/ops`).
    static func makeCertificates(
        subjects: [String: String] = [:], alternativeNames: [String: String] = [:]
    ) throws -> Certificates {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("swift-query-tls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        try run(["req", "-x509"] + ec + ["-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=query-test-ca"], in: directory)
        try "basicConstraints=CA:FALSE\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n"
            .write(to: directory.appendingPathComponent("ext.cnf"), atomically: true, encoding: .utf8)
        func extensions(for name: String) throws -> String {
            guard let extra = alternativeNames[name] else { return "ext.cnf" }
            try "basicConstraints=CA:FALSE\nsubjectAltName=IP:127.0.0.1,DNS:localhost,\(extra)\n"
                .write(to: directory.appendingPathComponent("\(name).cnf"), atomically: true, encoding: .utf8)
            return "\(name).cnf"
        }
        let all = subjects.merging(["server": "/CN=server", "client": "/CN=client"]) { mine, _ in mine }
        for (name, subject) in all.sorted(by: { $0.key < $1.key }) {
            try run(
                ["req"] + ec + ["-utf8", "-keyout", "\(name).key", "-out", "\(name).csr", "-subj", subject], in: directory)
            try run(
                [
                    "x509", "-req", "-in", "\(name).csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
                    "-out", "\(name).pem", "-days", "2", "-extfile", try extensions(for: name),
                ], in: directory)
        }
        try run(["req", "-x509"] + ec + ["-keyout", "rogue.key", "-out", "rogue.pem", "-days", "2", "-subj", "/CN=rogue"], in: directory)
        return Certificates(directory: directory)
    }

    static func runtime(
        _ role: EchoRole, listen: Bool, peers: [Int] = [], tls: TLSSettings?, metrics: TestMetrics = TestMetrics()
    ) -> NodeRuntime<TCPTransport, ContinuousClock> {
        let transport = TCPTransport(
            nodes: [role.id],
            configuration: .init(
                listen: listen ? Endpoint(host: "127.0.0.1", port: 0) : nil,
                peers: peers.map { Endpoint(host: "127.0.0.1", port: $0) }, keepaliveInterval: .milliseconds(200),
                backoff: Backoff(initial: .milliseconds(20), maximum: .milliseconds(100)), tls: tls),
            logger: quietLogger("tls"), metricsFactory: metrics)
        return NodeRuntime(
            roles: [role], transport: transport, clock: ContinuousClock(), logger: quietLogger("tls"), metricsFactory: metrics)
    }

    @Test func mutualTLSAdmitsCertifiedPeersAndRefusesOthers() async throws {
        let certificates = try Self.makeCertificates()
        defer { try? FileManager.default.removeItem(at: certificates.directory) }
        let serverMetrics = TestMetrics()
        let server = Self.runtime(EchoRole(id: "sql:0"), listen: true, tls: certificates.settings("server"), metrics: serverMetrics)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await server.run() }
            let port = try #require(await server.transport.listeningPort())

            var pinger = EchoRole(id: "tla:0", peer: "sql:0")
            pinger.tick = .milliseconds(50)
            pinger.limit = 1
            let peer = Self.runtime(pinger, listen: false, peers: [port], tls: certificates.settings("client"))
            group.addTask { try await peer.run() }
            #expect(await eventually { ((server.role("sql:0") as? EchoRole)?.received.count ?? 0) >= 2 })

            // A client with a certificate from the CA can query over TLS.
            let client = QueryClient(
                endpoints: [Endpoint(host: "127.0.0.1", port: port)], configuration: .init(tls: certificates.settings("client")))
            let (answer, _) = try await client.query("SELECT 1")
            #expect(answer.result.rows.count >= 2)

            // Plain TCP and a self-signed rogue certificate are refused; no rogue node comes up.
            let plain = Self.runtime(EchoRole(id: "tla:plain", peer: "sql:0"), listen: false, peers: [port], tls: nil)
            let rogue = Self.runtime(
                EchoRole(id: "tla:rogue", peer: "sql:0"), listen: false, peers: [port],
                tls: TLSSettings(
                    certificateChainFile: certificates.certificate("rogue"), privateKeyFile: certificates.key("rogue"),
                    trustRootsFile: certificates.ca))
            group.addTask { try await plain.run() }
            group.addTask { try await rogue.run() }
            #expect(await eventually { serverMetrics.counterTotal(label: "query.transport.connection_errors") >= 2 })
            #expect((server.role("sql:0") as? EchoRole)?.peersUp == ["tla:0"])
            let plainClient = QueryClient(
                endpoints: [Endpoint(host: "127.0.0.1", port: port)], configuration: .init(queryTimeout: .seconds(5)))
            await #expect(throws: QueryError.self) { try await plainClient.query("SELECT 1") }

            for runtime in [plain, rogue, peer, server] { runtime.beginGracefulShutdown() }
            try await group.waitForAll()
        }
    }
}
