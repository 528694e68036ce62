import Testing

@testable import QueryCore

/// Expects `body` to throw a ``QueryError`` with `code`; returns the error for further checks.
@discardableResult
func expectError<R>(
    _ code: QueryError.Code,
    _ comment: Comment? = nil,
    sourceLocation: Testing.SourceLocation = #_sourceLocation,
    _ body: () throws -> R
) -> QueryError? {
    do {
        let result = try body()
        Issue.record(
            "expected a \(code) error, got \(result)\(comment.map { " (\($0))" } ?? "")",
            sourceLocation: sourceLocation
        )
        return nil
    } catch let error as QueryError {
        #expect(error.code == code, "\(error)\(comment.map { " (\($0))" } ?? "")", sourceLocation: sourceLocation)
        return error
    } catch {
        Issue.record("expected a QueryError, got \(error)", sourceLocation: sourceLocation)
        return nil
    }
}
