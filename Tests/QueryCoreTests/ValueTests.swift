import Testing
@testable import QueryCore

@Suite struct ValueTests {
    @Test func sqliteOrder() {
        let ordered: [Value] = [.null, .integer(.min), .real(-1.5), .integer(-1), .boolean(false), .real(0.5),
                                .integer(1), .real(1e300), .real(.nan), .text(""), .text("A"), .text("a"), .text("é")]
        for i in ordered.indices {
            for j in ordered.indices {
                let c = Value.compare(ordered[i], ordered[j])
                #expect(c == (i < j ? -1 : (i == j ? 0 : 1)), "\(ordered[i]) vs \(ordered[j])")
            }
        }
    }

    @Test func numericEqualityAcrossRepresentations() {
        #expect(Value.integer(1) == Value.real(1.0))
        #expect(Value.integer(1) == Value.boolean(true))
        #expect(Value.real(-0.0) == Value.integer(0))
        #expect(Set<Value>([.integer(1), .real(1.0), .boolean(true)]).count == 1)
        #expect(Value.integer(.max) != Value.real(9223372036854775807.0))  // 2^63 as a double is larger
        #expect(Value.compare(.integer(.max), .real(9223372036854775807.0)) < 0)
        #expect(Value.compare(.integer(.min), .real(-9223372036854775808.0)) == 0)
    }

    @Test func realText() {
        #expect(Value.formatReal(1) == "1.0")
        #expect(Value.formatReal(0.5) == "0.5")
        #expect(Value.formatReal(1e20) == "1.0e+20")
        #expect(Value.formatReal(-0.1) == "-0.1")
        #expect(Value.formatReal(1.0 / 3.0) == "0.333333333333333")
    }
}
