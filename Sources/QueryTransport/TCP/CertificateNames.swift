import QueryCore
import SwiftASN1
import X509

/// The names in a client certificate that can identify a principal: the subject common name and
/// the subject alternative names a person or service is known by (URIs such as SPIFFE IDs, DNS
/// names, email addresses). Read with swift-certificates; IP addresses and other kinds of
/// alternative names are ignored.
struct CertificateNames: Sendable, Hashable {
    /// The subject common name (the last, most specific, if there are several).
    var commonName: String?
    /// URI alternative names, in certificate order.
    var uris: [String] = []
    /// DNS alternative names, in certificate order.
    var dnsNames: [String] = []
    /// Email (RFC 822) alternative names, in certificate order.
    var emails: [String] = []

    /// Names given directly (tests, callers that parsed the certificate already).
    init(commonName: String? = nil, uris: [String] = [], dnsNames: [String] = [], emails: [String] = []) {
        self.commonName = commonName
        self.uris = uris
        self.dnsNames = dnsNames
        self.emails = emails
    }

    /// The names in a DER-encoded X.509 certificate.
    ///
    /// - Throws: ``QueryCore/QueryError`` `.decodingFailed` saying what could not be read.
    init(certificate der: [UInt8]) throws(QueryError) {
        let certificate: Certificate
        do {
            certificate = try Certificate(derEncoded: der)
        } catch {
            throw QueryError(.decodingFailed, "client certificate: \(String(describing: error).prefix(160))")
        }
        for relativeName in certificate.subject {
            for attribute in relativeName where attribute.type == .RDNAttributeType.commonName {
                guard let name = String(attribute.value) else {
                    throw QueryError(.decodingFailed, "client certificate: the subject common name is not a string")
                }
                commonName = name
            }
        }
        let alternatives: SubjectAlternativeNames?
        do {
            alternatives = try certificate.extensions.subjectAlternativeNames
        } catch {
            throw QueryError(
                .decodingFailed, "client certificate: subject alternative names: \(String(describing: error).prefix(160))")
        }
        for name in alternatives.map(Array.init) ?? [] {
            switch name {
            case .uniformResourceIdentifier(let uri): uris.append(uri)
            case .dnsName(let dns): dnsNames.append(dns)
            case .rfc822Name(let email): emails.append(email)
            default: break
            }
        }
    }
}
