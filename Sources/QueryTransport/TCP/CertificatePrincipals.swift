public import QueryCore
public import QuerySQL

/// How a node with mutual TLS turns a client's certificate into the principal its
/// query-manager requests act as (see ``TLSSettings/principals``).
///
/// A certificate is known by its subject common name (CN) and its subject alternative names
/// (URIs such as SPIFFE IDs, DNS names, emails). The principal is, in this order: the mapping of
/// its CN in ``byCommonName``; the mapping of the first of its alternative names (URIs, then DNS
/// names, then emails) found in ``byAlternativeName``; otherwise, unless ``requireListed``, the CN
/// itself, or for a certificate without one its first URI. With ``requireListed``, only mapped
/// certificates act as anyone: another may still join the tree and ask SQL queries, but its
/// manager requests are refused.
public struct CertificatePrincipals: Sendable, Hashable {
    /// Principal names by certificate common name (exact, case-sensitive match).
    public var byCommonName: [String: String]
    /// Principal names by subject alternative name: a URI, DNS name or email (exact match).
    public var byAlternativeName: [String: String]
    /// Whether a certificate none of whose names is mapped is refused (`true`) or acts as its CN,
    /// or its first URI (`false`). Default `false`.
    public var requireListed: Bool

    /// Creates a mapping; the default maps every certificate to its common name (or first URI).
    public init(
        byCommonName: [String: String] = [:],
        byAlternativeName: [String: String] = [:],
        requireListed: Bool = false
    ) {
        self.byCommonName = byCommonName
        self.byAlternativeName = byAlternativeName
        self.requireListed = requireListed
    }

    /// The principal a certificate with subject common name `commonName` (and no alternative
    /// names) acts as.
    ///
    /// - Throws: ``QueryCore/QueryError`` `.permissionDenied` as ``principal(for:)`` does.
    public func principal(commonName: String?) throws(QueryError) -> Principal {
        try principal(for: CertificateNames(commonName: commonName)).principal
    }

    /// The principal a certificate with `names` acts as, and the name that decided it, as shown in
    /// errors (`CN=alice`, `URI=spiffe://fleet/ops`).
    ///
    /// - Throws: ``QueryCore/QueryError`` `.permissionDenied` when none of the names is mapped and
    ///   ``requireListed`` is set, or when the certificate has neither a common name nor a URI.
    func principal(for names: CertificateNames) throws(QueryError) -> (principal: Principal, shownAs: String) {
        let commonName = names.commonName.flatMap { $0.isEmpty ? nil : $0 }
        if let commonName, let mapped = byCommonName[commonName] { return (Principal(mapped), "CN=\(commonName)") }
        for (kind, values) in [("URI", names.uris), ("DNS", names.dnsNames), ("email", names.emails)] {
            for value in values {
                if let mapped = byAlternativeName[value] { return (Principal(mapped), "\(kind)=\(value)") }
            }
        }
        guard !requireListed else {
            let shown = commonName.map { "common name '\($0.prefix(64))'" } ?? "name"
            throw QueryError(.permissionDenied, "the client certificate's \(shown) maps to no principal")
        }
        if let commonName { return (Principal(commonName), "CN=\(commonName)") }
        if let uri = names.uris.first(where: { !$0.isEmpty }) { return (Principal(uri), "URI=\(uri)") }
        throw QueryError(
            .permissionDenied,
            "the client certificate has no subject common name or URI alternative name to act as a principal"
        )
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
    /// A verified client certificate mapped to `principal` by the name `shownAs` (`CN=alice`).
    case certificate(principal: Principal, shownAs: String)
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
            let (principal, shownAs) = try principals.principal(for: CertificateNames(certificate: certificate))
            return .certificate(principal: principal, shownAs: shownAs)
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
        case .certificate(let principal, let shownAs):
            guard claimed.isEmpty || claimed == principal.name else {
                throw QueryError(
                    .permissionDenied,
                    "the request acts as '\(claimed.prefix(64))', but the client certificate (\(shownAs.prefix(80))) "
                        + "identifies '\(principal.name)'"
                )
            }
            return principal
        case .refused(let error):
            throw error
        }
    }
}
