/// `LIKE` and `GLOB` matching over UTF-8 bytes (SQLite's rules: `LIKE` folds ASCII case, `GLOB`
/// is case-sensitive with `*`, `?` and `[...]` classes).
enum PatternMatch {
    /// Whether `text` matches the LIKE `pattern` (`%`, `_`, optional escape byte).
    static func like(_ text: [UInt8], _ pattern: [UInt8], escape: UInt8?) -> Bool {
        var ti = 0, pi = 0
        var starP = -1, starT = 0
        @inline(__always) func fold(_ b: UInt8) -> UInt8 { (b >= 0x41 && b <= 0x5A) ? b + 32 : b }
        while ti < text.count {
            if pi < pattern.count {
                let p = pattern[pi]
                if let e = escape, p == e, pi + 1 < pattern.count {
                    if fold(pattern[pi + 1]) == fold(text[ti]) {
                        pi += 2
                        ti += 1
                        continue
                    }
                } else if p == UInt8(ascii: "%") {
                    starP = pi
                    starT = ti
                    pi += 1
                    continue
                } else if p == UInt8(ascii: "_") {
                    // Skip one UTF-8 character.
                    ti += 1
                    while ti < text.count && text[ti] & 0xC0 == 0x80 { ti += 1 }
                    pi += 1
                    continue
                } else if fold(p) == fold(text[ti]) {
                    pi += 1
                    ti += 1
                    continue
                }
            }
            if starP >= 0 {
                pi = starP + 1
                starT += 1
                ti = starT
                continue
            }
            return false
        }
        while pi < pattern.count && pattern[pi] == UInt8(ascii: "%") { pi += 1 }
        return pi == pattern.count
    }

    /// Whether `text` matches the GLOB `pattern`.
    static func glob(_ text: [UInt8], _ pattern: [UInt8]) -> Bool {
        var ti = 0, pi = 0
        var starP = -1, starT = 0
        while ti < text.count {
            if pi < pattern.count {
                let p = pattern[pi]
                if p == UInt8(ascii: "*") {
                    starP = pi
                    starT = ti
                    pi += 1
                    continue
                } else if p == UInt8(ascii: "?") {
                    pi += 1
                    ti += 1
                    continue
                } else if p == UInt8(ascii: "[") {
                    if let (matched, next) = matchClass(text[ti], pattern, pi), matched {
                        pi = next
                        ti += 1
                        continue
                    }
                } else if p == text[ti] {
                    pi += 1
                    ti += 1
                    continue
                }
            }
            if starP >= 0 {
                pi = starP + 1
                starT += 1
                ti = starT
                continue
            }
            return false
        }
        while pi < pattern.count && pattern[pi] == UInt8(ascii: "*") { pi += 1 }
        return pi == pattern.count
    }

    /// Matches `c` against the class starting at `pattern[start] == '['`; nil if the class is unterminated.
    private static func matchClass(_ c: UInt8, _ pattern: [UInt8], _ start: Int) -> (Bool, Int)? {
        var i = start + 1
        var negate = false
        if i < pattern.count && pattern[i] == UInt8(ascii: "^") {
            negate = true
            i += 1
        }
        var matched = false
        var first = true
        while i < pattern.count {
            let p = pattern[i]
            if p == UInt8(ascii: "]") && !first { return (matched != negate, i + 1) }
            first = false
            if i + 2 < pattern.count && pattern[i + 1] == UInt8(ascii: "-") && pattern[i + 2] != UInt8(ascii: "]") {
                if c >= p && c <= pattern[i + 2] { matched = true }
                i += 3
            } else {
                if c == p { matched = true }
                i += 1
            }
        }
        return nil
    }
}
