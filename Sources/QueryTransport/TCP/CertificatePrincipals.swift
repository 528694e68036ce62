public import QueryCore
public import QuerySQL

/// How a node with mutual TLS turns a client's certificate into the principal its
/// query-manager requests act as (see ``TLSSettings/principals``).
///
/// The certificate's subject common name (CN) names the principal, unless ``byCommonName`` maps
/// it to another name. With ``requireListed``, only listed common names act as anyone: a
/// certificate whose CN is not listed may still join the tree and ask SQL queries, but its
/// manager requests are refused.
public struct CertificatePrincipals: Sendable, Hashable {
    /// Principal names by certificate common name (exact, case-sensitive match).
    public var byCommonName: [String: String]
    /// Whether a common name missing from ``byCommonName`` is refused (`true`) or acts as itself
    /// (`false`). Default `false`.
    public var requireListed: Bool

    /// Creates a mapping; the default maps every common name to itself.
    public init(byCommonName: [String: String] = [:], requireListed: Bool = false) {
        self.byCommonName = byCommonName
        self.requireListed = requireListed
    }

    /// The principal a certificate with subject common name `commonName` acts as.
    ///
    /// - Throws: ``QueryCore/QueryError`` `.permissionDenied` when the certificate has no common
    ///   name, or its common name is not listed and ``requireListed`` is set.
    public func principal(commonName: String?) throws(QueryError) -> Principal {
        guard let commonName, !commonName.isEmpty else {
            throw QueryError(
                .permissionDenied,
                "the client certificate has no subject common name to act as a principal"
            )
        }
        if let mapped = byCommonName[commonName] { return Principal(mapped) }
        guard !requireListed else {
            throw QueryError(
                .permissionDenied,
                "the client certificate's common name '\(commonName.prefix(64))' maps to no principal"
            )
        }
        return Principal(commonName)
    }
}

/// Who a connection's query-manager requests act as.
///
/// - Without TLS the node cannot tell who is asking: a request acts as the principal it names
///   (`query --as`). Such a node belongs on a trusted network only.
/// - With TLS the principal comes from the client certificate (``CertificatePrincipals``); a
///   request that names another principal is refused, one that names none acts as the
///   certificate's.
enum RequestIdentity: Sendable, Equatable {
    /// Plain TCP: the claimed principal is trusted.
    case claimed
    /// A verified client certificate with this subject common name, mapped to `principal`.
    case certificate(principal: Principal, commonName: String)
    /// TLS, but no usable identity (no client certificate, or one that maps to no principal):
    /// every manager request is refused with this error.
    case refused(QueryError)

    /// The identity of a connection, from its verified peer certificate (DER) if TLS is on.
    ///
    /// - Parameters:
    ///   - tls: Whether the connection uses TLS.
    ///   - certificate: The peer's verified leaf certificate in DER, if it presented one.
    ///   - principals: How common names map to principals.
    static func of(tls: Bool, certificate: [UInt8]?, principals: CertificatePrincipals) -> RequestIdentity {
        guard tls else { return .claimed }
        guard let certificate else {
            return .refused(
                QueryError(
                    .permissionDenied,
                    "this node uses TLS: query-manager requests need a client certificate, which names the principal"
                )
            )
        }
        do throws(QueryError) {
            let commonName = try X509Subject.commonName(ofCertificate: certificate)
            let principal = try principals.principal(commonName: commonName)
            return .certificate(principal: principal, commonName: commonName ?? "")
        } catch {
            return .refused(error)
        }
    }

    /// The principal a request that names `claimed` (empty: names none) acts as.
    ///
    /// - Throws: ``QueryCore/QueryError`` `.permissionDenied` when the claim differs from the
    ///   certificate's principal or the connection has no usable identity; `.invalidArgument`
    ///   when a plain-TCP request names no principal.
    func principal(claimed: String) throws(QueryError) -> Principal {
        switch self {
        case .claimed:
            guard !claimed.isEmpty else {
                throw QueryError(.invalidArgument, "a manager request must name its principal")
            }
            return Principal(claimed)
        case .certificate(let principal, let commonName):
            guard claimed.isEmpty || claimed == principal.name else {
                throw QueryError(
                    .permissionDenied,
                    "the request acts as '\(claimed.prefix(64))', but the client certificate (CN=\(commonName.prefix(64))) "
                        + "identifies '\(principal.name)'"
                )
            }
            return principal
        case .refused(let error):
            throw error
        }
    }
}
