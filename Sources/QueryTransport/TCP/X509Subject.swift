import QueryCore

/// Reads the subject common name out of a DER-encoded X.509 certificate (RFC 5280), the one
/// piece of a certificate a node needs to name a client's principal. swift-nio-ssl keeps its
/// own common-name accessor internal; this reads only the few DER structures on the way to the
/// subject and checks every length against the bytes present.
enum X509Subject {
    /// The OID 2.5.4.3 (`id-at-commonName`), as DER content bytes.
    private static let commonNameOID: [UInt8] = [0x55, 0x04, 0x03]

    /// The subject's common name (the last, most specific, if there are several), or `nil` if
    /// the subject has none.
    ///
    /// - Throws: ``QueryCore/QueryError`` `.decodingFailed` naming what is malformed.
    static func commonName(ofCertificate der: [UInt8]) throws(QueryError) -> String? {
        var certificate = DERReader(der[...])
        var outer = try certificate.read(tag: 0x30, "Certificate")
        var tbs = try outer.read(tag: 0x30, "TBSCertificate")
        if tbs.peekTag == 0xA0 { _ = try tbs.read(tag: 0xA0, "version") }
        _ = try tbs.read(tag: 0x02, "serialNumber")
        _ = try tbs.read(tag: 0x30, "signature")
        _ = try tbs.read(tag: 0x30, "issuer")
        _ = try tbs.read(tag: 0x30, "validity")
        var subject = try tbs.read(tag: 0x30, "subject")
        var commonName: String?
        while !subject.isAtEnd {
            var relativeName = try subject.read(tag: 0x31, "RelativeDistinguishedName")
            while !relativeName.isAtEnd {
                var attribute = try relativeName.read(tag: 0x30, "AttributeTypeAndValue")
                let type = try attribute.read(tag: 0x06, "attribute type")
                let (tag, value) = try attribute.readAny("attribute value")
                if Array(type.bytes) == commonNameOID { commonName = try directoryString(tag: tag, value.bytes) }
            }
        }
        return commonName
    }

    /// Decodes an X.520 DirectoryString (and IA5String) value.
    private static func directoryString(tag: UInt8, _ bytes: ArraySlice<UInt8>) throws(QueryError) -> String {
        switch tag {
        case 0x0C, 0x13, 0x16:  // UTF8String, PrintableString, IA5String
            guard let text = String(validating: bytes, as: UTF8.self) else {
                throw QueryError(.decodingFailed, "certificate common name is not valid UTF-8")
            }
            return text
        case 0x14:  // TeletexString, read as ISO 8859-1 as most implementations do
            return String(String.UnicodeScalarView(bytes.map { Unicode.Scalar($0) }))
        case 0x1E:  // BMPString: UTF-16 big-endian
            guard bytes.count % 2 == 0 else {
                throw QueryError(.decodingFailed, "certificate common name: odd-length BMPString")
            }
            let units = stride(from: bytes.startIndex, to: bytes.endIndex, by: 2).map {
                UInt16(bytes[$0]) << 8 | UInt16(bytes[$0 + 1])
            }
            guard let text = String(validating: units, as: UTF16.self) else {
                throw QueryError(.decodingFailed, "certificate common name is not valid UTF-16")
            }
            return text
        default:
            throw QueryError(
                .decodingFailed,
                "certificate common name has unsupported string type 0x\(String(tag, radix: 16))"
            )
        }
    }
}

/// A cursor over DER: tag, definite length, content (single-byte tags only, which is all an
/// X.509 subject needs).
struct DERReader {
    private(set) var bytes: ArraySlice<UInt8>

    init(_ bytes: ArraySlice<UInt8>) { self.bytes = bytes }

    var isAtEnd: Bool { bytes.isEmpty }
    var peekTag: UInt8? { bytes.first }

    /// Reads one element with tag `tag` and returns a reader over its content.
    mutating func read(tag: UInt8, _ what: String) throws(QueryError) -> DERReader {
        let (found, content) = try readAny(what)
        guard found == tag else {
            throw QueryError(
                .decodingFailed,
                "certificate: expected \(what) (tag 0x\(String(tag, radix: 16))), found tag 0x\(String(found, radix: 16))"
            )
        }
        return content
    }

    /// Reads one element of any tag.
    mutating func readAny(_ what: String) throws(QueryError) -> (tag: UInt8, content: DERReader) {
        guard let tag = bytes.popFirst() else { throw QueryError(.decodingFailed, "certificate: \(what) is missing") }
        guard tag & 0x1F != 0x1F else {
            throw QueryError(.decodingFailed, "certificate: \(what) has a multi-byte tag")
        }
        guard let first = bytes.popFirst() else {
            throw QueryError(.decodingFailed, "certificate: \(what) has no length")
        }
        var length = 0
        if first < 0x80 {
            length = Int(first)
        } else {
            let count = Int(first & 0x7F)
            guard (1...4).contains(count), bytes.count >= count else {
                throw QueryError(.decodingFailed, "certificate: \(what) has an invalid length")
            }
            for _ in 0..<count { length = length << 8 | Int(bytes.removeFirst()) }
        }
        guard length <= bytes.count else {
            throw QueryError(
                .decodingFailed,
                "certificate: \(what) claims \(length) bytes, \(bytes.count) remain"
            )
        }
        let content = bytes.prefix(length)
        bytes = bytes.dropFirst(length)
        return (tag, DERReader(content))
    }
}
