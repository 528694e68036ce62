/// Locates the package root from this file's path (`Tests/QuerySimTests/Test Utilities/URLPath.swift`).
enum URLPath {
    static func packageRoot() -> String {
        var parts = String(#filePath).split(separator: "/", omittingEmptySubsequences: false)
        parts.removeLast(4)
        return parts.joined(separator: "/")
    }
}
