import Foundation
import MetricsTestKit
import QueryCore
import QuerySQL
import Testing

@testable import QueryTransport

/// Manager requests over mutual TLS act as the principal the client certificate names; a request
/// claiming another is refused. Certificates are made by `openssl` at test time (no key is
/// checked in); the suite is skipped, with a message, where `openssl` is missing.
@Suite("Certificate principals", .serialized, .enabled(if: opensslPath != nil, "openssl not found; skipped"))
struct CertificatePrincipalTests {
    static let subjects = [
        "alice": "/O=fleet/CN=alice-cn/OU=ops",
        "noname": "/O=fleet/OU=nobody",
        "unicode": "/CN=J\u{00F6}rg \u{6E2C}\u{8A66}",
        "spiffe": "/O=fleet/OU=workloads",
    ]
    static let alternativeNames = [
        "spiffe": "URI:spiffe://fleet/ops,DNS:ops.fleet.example,email:ops@fleet.example"
    ]

    static func makeCertificates() throws -> TLSTests.Certificates {
        try TLSTests.makeCertificates(subjects: subjects, alternativeNames: alternativeNames)
    }

    static func names(_ name: String, in certificates: TLSTests.Certificates) throws -> CertificateNames {
        try CertificateNames(certificate: der(name, in: certificates))
    }

    /// The DER bytes of a certificate made by ``TLSTests/makeCertificates(subjects:)``.
    static func der(_ name: String, in certificates: TLSTests.Certificates) throws -> [UInt8] {
        try TLSTests.run(
            ["x509", "-in", "\(name).pem", "-outform", "DER", "-out", "\(name).der"],
            in: certificates.directory
        )
        return Array(try Data(contentsOf: certificates.directory.appendingPathComponent("\(name).der")))
    }

    @Test func namesAreReadFromDER() throws {
        let certificates = try Self.makeCertificates()
        defer { try? FileManager.default.removeItem(at: certificates.directory) }
        #expect(try Self.names("client", in: certificates).commonName == "client")
        #expect(try Self.names("client", in: certificates).dnsNames == ["localhost"])
        #expect(try Self.names("alice", in: certificates).commonName == "alice-cn")
        #expect(try Self.names("noname", in: certificates).commonName == nil)
        #expect(try Self.names("unicode", in: certificates).commonName == "J\u{00F6}rg \u{6E2C}\u{8A66}")
        #expect(
            try Self.names("spiffe", in: certificates)
                == CertificateNames(
                    uris: ["spiffe://fleet/ops"], dnsNames: ["localhost", "ops.fleet.example"], emails: ["ops@fleet.example"]))

        // Every truncation of a real certificate, and bytes flipped along it, give a typed error
        // or names: never a trap or an out-of-bounds read.
        let der = try Self.der("spiffe", in: certificates)
        for length in 0..<der.count {
            #expect(throws: QueryError.self) { _ = try CertificateNames(certificate: Array(der.prefix(length))) }
        }
        var generator = SplitMix64(seed: 6)
        for _ in 0..<500 {
            var damaged = der
            damaged[Int.random(in: 0..<damaged.count, using: &generator)] = UInt8.random(in: 0...255, using: &generator)
            do {
                _ = try CertificateNames(certificate: damaged)
            } catch {
                #expect(error.code == .decodingFailed)
            }
        }
        #expect(throws: QueryError.self) { _ = try CertificateNames(certificate: [0x30, 0x84, 0xFF, 0xFF, 0xFF, 0xFF]) }
    }

    @Test func alternativeNamesNameAPrincipal() throws {
        let spiffe = CertificateNames(
            uris: ["spiffe://fleet/ops"], dnsNames: ["localhost", "ops.fleet.example"], emails: ["ops@fleet.example"])
        // Unmapped, a certificate without a CN acts as its first URI.
        let byDefault = try CertificatePrincipals().principal(for: spiffe)
        #expect(byDefault.principal == "spiffe://fleet/ops" && byDefault.shownAs == "URI=spiffe://fleet/ops")
        // A mapping of any alternative name decides; URIs are consulted before DNS names and emails.
        let mapped = CertificatePrincipals(
            byAlternativeName: ["ops.fleet.example": "dns-ops", "ops@fleet.example": "mail-ops"], requireListed: true)
        #expect(try mapped.principal(for: spiffe).principal == "dns-ops")
        #expect(try mapped.principal(for: spiffe).shownAs == "DNS=ops.fleet.example")
        let both = CertificatePrincipals(byAlternativeName: ["spiffe://fleet/ops": "ops", "localhost": "host"])
        #expect(try both.principal(for: spiffe).principal == "ops")
        // A mapped CN comes first; an unmapped CN is the default before any URI.
        var named = spiffe
        named.commonName = "node-7"
        #expect(try both.principal(for: named).principal == "ops")
        #expect(try CertificatePrincipals().principal(for: named).principal == "node-7")
        #expect(try CertificatePrincipals(byCommonName: ["node-7": "seven"], byAlternativeName: ["spiffe://fleet/ops": "ops"]).principal(for: named).principal == "seven")
        // Listed only: nothing mapped is refused, as is a certificate with neither CN nor URI.
        #expect(throws: QueryError.self) {
            _ = try CertificatePrincipals(requireListed: true).principal(for: spiffe)
        }
        #expect(throws: QueryError.self) {
            _ = try CertificatePrincipals().principal(for: CertificateNames(dnsNames: ["localhost"]))
        }
    }

    @Test func identitiesResolveClaimedPrincipals() throws {
        // Plain TCP trusts the claim, and a claim is required.
        let plain = RequestIdentity.of(tls: false, certificate: nil, principals: CertificatePrincipals())
        #expect(plain == .claimed)
        #expect(try plain.principal(claimed: "ops") == "ops")
        #expect(throws: QueryError(.invalidArgument, "a manager request must name its principal")) {
            _ = try plain.principal(claimed: "")
        }

        // A certificate names the principal; no claim means the certificate's, another is refused.
        let certified = RequestIdentity.certificate(principal: "ops", shownAs: "CN=node-7")
        #expect(try certified.principal(claimed: "") == "ops")
        #expect(try certified.principal(claimed: "ops") == "ops")
        do {
            _ = try certified.principal(claimed: "root")
            Issue.record("a mismatching principal was accepted")
        } catch {
            #expect(error.code == .permissionDenied)
            #expect(
                error.message == "the request acts as 'root', but the client certificate (CN=node-7) identifies 'ops'"
            )
        }

        // TLS without a client certificate: no manager requests, whatever they claim.
        let anonymous = RequestIdentity.of(tls: true, certificate: nil, principals: CertificatePrincipals())
        for claim in ["", "ops"] {
            do {
                _ = try anonymous.principal(claimed: claim)
                Issue.record("a request without a client certificate was accepted")
            } catch {
                #expect(error.code == .permissionDenied)
                #expect(error.message.contains("need a client certificate"))
            }
        }
        // Malformed certificate bytes refuse too, with the decoding error.
        guard case .refused(let error) = RequestIdentity.of(tls: true, certificate: [0x30], principals: .init()) else {
            Issue.record("garbage certificate bytes gave an identity")
            return
        }
        #expect(error.code == .decodingFailed)

        // Mappings.
        let mapped = CertificatePrincipals(byCommonName: ["node-7": "ops"], requireListed: true)
        #expect(try mapped.principal(commonName: "node-7") == "ops")
        #expect(throws: QueryError.self) { _ = try mapped.principal(commonName: "node-8") }
        #expect(try CertificatePrincipals().principal(commonName: "node-8") == "node-8")
        #expect(throws: QueryError.self) { _ = try CertificatePrincipals().principal(commonName: nil) }
    }

    /// A TLS node hosting a manager, and a TLS client session to it with certificate `client`.
    static func withTLSNode(
        _ certificates: TLSTests.Certificates,
        principals: CertificatePrincipals = CertificatePrincipals(),
        requireClientCertificate: Bool = true,
        client: String,
        metrics: TestMetrics = TestMetrics(),
        _ body: (QuerySession, QueryClient) async throws -> Void
    ) async throws {
        var settings = certificates.settings("server")
        settings.principals = principals
        settings.requireClientCertificate = requireClientCertificate
        let service = QueryManagerService(evaluator: SQLEngine())
        let transport = TCPTransport(
            nodes: ["sql:0"],
            configuration: .init(listen: Endpoint(host: "127.0.0.1", port: 0), tls: settings),
            logger: quietLogger("tls-manager"),
            metricsFactory: metrics,
            manager: service
        )
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await transport.run() }
            group.addTask {
                // No roles here: a SQL query is answered with an error, which shows it got through.
                for await event in transport.events {
                    if case .query(let query) = event {
                        query.responder(.failure(QueryError(.unsupported, "this test node answers no SQL")))
                    }
                }
            }
            let port = try #require(await transport.listeningPort())
            let queryClient = QueryClient(
                endpoints: [Endpoint(host: "127.0.0.1", port: port)],
                configuration: .init(queryTimeout: .seconds(60), tls: certificates.settings(client))
            )
            try await queryClient.withSession { session in try await body(session, queryClient) }
            transport.beginGracefulShutdown()
            try await group.waitForAll()
        }
    }

    @Test func managerRequestsActAsTheCertificatesPrincipal() async throws {
        let certificates = try Self.makeCertificates()
        defer { try? FileManager.default.removeItem(at: certificates.directory) }
        let metrics = TestMetrics()
        try await Self.withTLSNode(certificates, client: "client", metrics: metrics) { session, _ in
            let schema = try Schema([("host", .text), ("load", .integer)])
            _ = try await session.manage(.registerMetric(name: "Cpu", schema: schema, publishers: .anyone))
            // No claim: the certificate's common name.
            let topic = try await session.register("select host from Cpu where load > 90")
            guard case .listing(let listing) = try await session.manage(.list) else {
                Issue.record("list did not answer a listing")
                return
            }
            #expect(listing.statements.first?.owners == ["client"])
            // Claiming the certificate's own name is fine; claiming another is refused, typed.
            _ = try await session.publish("Cpu", events: [["host": "a", "load": 99]], as: "client")
            for request in [ManagerRequest.list, .unregisterStatement(topic: topic.name)] {
                do throws(QueryError) {
                    _ = try await session.manage(request, as: "ops")
                    Issue.record("a request claiming another principal was accepted")
                } catch {
                    #expect(error.code == .permissionDenied)
                    #expect(
                        error.message
                            == "the request acts as 'ops', but the client certificate (CN=client) identifies 'client'"
                    )
                }
            }
            do throws(QueryError) {
                _ = try await session.subscribe(topic, as: "ops")
                Issue.record("a subscription claiming another principal was accepted")
            } catch {
                #expect(error.code == .permissionDenied)
            }
            // The subscription as the certificate's principal works, and the topic is still there.
            var triggers = try await session.subscribe(topic).makeAsyncIterator()
            _ = try await session.publish("Cpu", events: [["host": "b", "load": 95]])
            #expect(try await triggers.next()?.rows == [["b"]])
        }
        #expect(metrics.counterTotal(label: "query.transport.manager_requests_refused") == 3)
    }

    @Test func aCertificateWithoutACommonNameActsAsItsURIOrItsMappedAlternativeName() async throws {
        let certificates = try Self.makeCertificates()
        defer { try? FileManager.default.removeItem(at: certificates.directory) }
        let schema = try Schema([("x", .integer)])
        try await Self.withTLSNode(certificates, client: "spiffe") { session, _ in
            _ = try await session.manage(.registerMetric(name: "Tick", schema: schema, publishers: .anyone))
            do throws(QueryError) {
                _ = try await session.manage(.list, as: "ops")
                Issue.record("a request claiming another principal was accepted")
            } catch {
                #expect(
                    error.message
                        == "the request acts as 'ops', but the client certificate (URI=spiffe://fleet/ops) identifies 'spiffe://fleet/ops'"
                )
            }
        }
        let principals = CertificatePrincipals(byAlternativeName: ["ops@fleet.example": "ops"], requireListed: true)
        try await Self.withTLSNode(certificates, principals: principals, client: "spiffe") { session, _ in
            _ = try await session.manage(.registerMetric(name: "Tick", schema: schema, publishers: .anyone))
            _ = try await session.register("select x from Tick", kind: .stream, as: "ops")
            guard case .listing(let listing) = try await session.manage(.list) else {
                Issue.record("list did not answer a listing")
                return
            }
            #expect(listing.statements.first?.owners == ["ops"])
        }
    }

    @Test func aMappingRenamesAndCanRefuseUnlistedCertificates() async throws {
        let certificates = try Self.makeCertificates()
        defer { try? FileManager.default.removeItem(at: certificates.directory) }
        let principals = CertificatePrincipals(byCommonName: ["alice-cn": "alice"], requireListed: true)
        try await Self.withTLSNode(certificates, principals: principals, client: "alice") { session, _ in
            let schema = try Schema([("x", .integer)])
            _ = try await session.manage(.registerMetric(name: "Tick", schema: schema, publishers: .anyone))
            let topic = try await session.register("select x from Tick", kind: .stream, as: nil)
            guard case .listing(let listing) = try await session.manage(.list, as: "alice") else {
                Issue.record("list did not answer a listing")
                return
            }
            #expect(listing.statements.map(\.topic) == [topic])
            #expect(listing.statements.first?.owners == ["alice"])
            // The certificate's raw common name is not the principal once mapped.
            await #expect(throws: QueryError.self) { _ = try await session.manage(.list, as: "alice-cn") }
        }
        // An unlisted certificate still joins and asks SQL, but the manager refuses it.
        try await Self.withTLSNode(certificates, principals: principals, client: "client") { session, client in
            do throws(QueryError) {
                _ = try await client.query("SELECT 1")
                Issue.record("the test node answered SQL")
            } catch {
                #expect(error.code == .unsupported)
            }
            do throws(QueryError) {
                _ = try await session.manage(.list)
                Issue.record("an unlisted certificate used the manager")
            } catch {
                #expect(error.code == .permissionDenied)
                #expect(error.message == "the client certificate's common name 'client' maps to no principal")
            }
        }
        // A node that does not ask for client certificates has no identity for the manager: it
        // refuses every request rather than trust the claim.
        try await Self.withTLSNode(certificates, requireClientCertificate: false, client: "alice") { session, _ in
            for claim: Principal? in [nil, "alice"] {
                do throws(QueryError) {
                    _ = try await session.manage(.list, as: claim)
                    Issue.record("a TLS request without a client certificate used the manager")
                } catch {
                    #expect(error.code == .permissionDenied)
                    #expect(error.message.contains("need a client certificate"))
                }
            }
        }
        // A certificate without a common name cannot act as anyone either.
        try await Self.withTLSNode(certificates, client: "noname") { session, _ in
            do throws(QueryError) {
                _ = try await session.manage(.list)
                Issue.record("a certificate without a common name used the manager")
            } catch {
                #expect(error.code == .permissionDenied)
                #expect(error.message.contains("no subject common name or URI alternative name"))
            }
        }
    }
}
