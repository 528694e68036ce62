import NIOCore
import NIOSSL
import QueryCore

/// Optional TLS for a ``TCPTransport`` (swift-nio-ssl), with client certificates: by default both
/// sides present a certificate and verify the other's against ``trustRoots`` (mutual TLS), so only
/// holders of a certificate from the fleet's CA can join the tree.
///
/// Host names are not checked by default (``verifyHostname``): peers are identified by their
/// certificate's chain to the fleet CA, and addresses in a fleet are often IPs.
///
/// A node with TLS takes the principal of a client's query-manager requests from the client's
/// certificate (its subject common name or, without one, its first URI alternative name; or
/// ``principals``' mapping of its names) and refuses a request
/// that claims another; a connection without a client certificate may ask SQL queries but not use
/// the manager. Without TLS, requests act as whoever they name: a trusted network only.
public struct TLSSettings: Sendable {
    /// PEM file with this node's certificate (and intermediates).
    public var certificateChainFile: String
    /// PEM file with this node's private key.
    public var privateKeyFile: String
    /// PEM file with the CA certificates peers must chain to; `nil` uses the system's roots.
    public var trustRootsFile: String?
    /// Whether accepted connections must present a valid client certificate. Default `true`.
    public var requireClientCertificate: Bool
    /// Whether the server's certificate must name the host dialled. Default `false`.
    public var verifyHostname: Bool
    /// How a client certificate names the principal of its query-manager requests. Default: the
    /// subject common name (or the first URI alternative name of a certificate without one).
    public var principals: CertificatePrincipals

    /// Creates TLS settings.
    public init(
        certificateChainFile: String, privateKeyFile: String, trustRootsFile: String? = nil,
        requireClientCertificate: Bool = true, verifyHostname: Bool = false,
        principals: CertificatePrincipals = CertificatePrincipals()
    ) {
        self.certificateChainFile = certificateChainFile
        self.privateKeyFile = privateKeyFile
        self.trustRootsFile = trustRootsFile
        self.requireClientCertificate = requireClientCertificate
        self.verifyHostname = verifyHostname
        self.principals = principals
    }

    /// The server and client contexts, loaded once.
    struct Contexts: Sendable {
        var server: NIOSSLContext
        var client: NIOSSLContext
    }

    /// Loads the certificate, key and roots.
    ///
    /// - Throws: ``QueryCore/QueryError`` `.invalidArgument` naming the file that could not be used.
    func makeContexts() throws(QueryError) -> Contexts {
        let chain: [NIOSSLCertificate]
        let key: NIOSSLPrivateKey
        do {
            chain = try NIOSSLCertificate.fromPEMFile(certificateChainFile)
        } catch {
            throw QueryError(.invalidArgument, "cannot load TLS certificate '\(certificateChainFile)': \(error)")
        }
        do {
            key = try NIOSSLPrivateKey(file: privateKeyFile, format: .pem)
        } catch {
            throw QueryError(.invalidArgument, "cannot load TLS private key '\(privateKeyFile)': \(error)")
        }
        let roots: NIOSSLTrustRoots = trustRootsFile.map { .file($0) } ?? .default
        var server = TLSConfiguration.makeServerConfiguration(
            certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        server.trustRoots = roots
        server.certificateVerification = requireClientCertificate ? .noHostnameVerification : .none
        var client = TLSConfiguration.makeClientConfiguration()
        client.certificateChain = chain.map { .certificate($0) }
        client.privateKey = .privateKey(key)
        client.trustRoots = roots
        client.certificateVerification = verifyHostname ? .fullVerification : .noHostnameVerification
        do {
            return Contexts(server: try NIOSSLContext(configuration: server), client: try NIOSSLContext(configuration: client))
        } catch {
            throw QueryError(.invalidArgument, "invalid TLS configuration: \(error)")
        }
    }
}
