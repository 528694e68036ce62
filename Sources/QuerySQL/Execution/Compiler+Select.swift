import QueryCore

extension Compiler {
    /// One result column of a core before compilation.
    struct OutputItem {
        var name: String
        var expression: Expression?
        /// For `*` columns: the source and column.
        var direct: (Int, Int)?
        var alias: String?
    }

    func compileSelect(_ select: Select, parent: Scope?) throws(QueryError) -> SelectPlan {
        let cores = [select.core] + select.compounds.map(\.core)
        if cores.count == 1 {
            let (core, scope, names, affinities, sortKeys) = try compileCore(select.core, parent: parent, orderBy: select.orderBy)
            let plan = SelectPlan(columns: names, affinities: affinities)
            plan.cores = [core]
            plan.sortKeys = sortKeys
            try compileLimit(select, plan, scope)
            plan.correlated = scope.correlated
            return plan
        }
        var plans: [CorePlan] = []
        var firstNames: [String] = []
        var firstAffinities: [Affinity] = []
        var firstItems: [Expression?] = []
        var correlated = false
        var lastScope: Scope?
        for (i, core) in cores.enumerated() {
            let (plan, scope, names, affinities, _) = try compileCore(core, parent: parent, orderBy: [])
            if i == 0 {
                firstNames = names
                firstAffinities = affinities
                firstItems = core.items.flatMap { item -> [Expression?] in
                    if case .expression(let e, _, _) = item { return [e.normalized] }
                    return [nil]
                }
            } else if names.count != firstNames.count {
                throw QueryError(
                    .semanticError,
                    "SELECTs to the left and right of \(select.compounds[i - 1].op.rawValue) do not have the same number of result columns",
                    at: core.location)
            }
            correlated = correlated || scope.correlated
            lastScope = scope
            plans.append(plan)
        }
        let plan = SelectPlan(columns: firstNames, affinities: firstAffinities)
        plan.cores = plans
        plan.operators = select.compounds.map(\.op)
        for (n, term) in select.orderBy.enumerated() {
            var index: Int?
            if let k = Compiler.ordinal(term.expression) {
                guard k >= 1 && k <= firstNames.count else {
                    throw QueryError(
                        .semanticError, "\(Compiler.ordinalName(n + 1)) ORDER BY term out of range - should be between 1 and \(firstNames.count)",
                        at: term.expression.location)
                }
                index = k - 1
            } else if case .column(nil, let name, _) = term.expression {
                index = firstNames.firstIndex { $0.lowercased() == name.lowercased() }
            }
            if index == nil {
                let normalized = term.expression.normalized
                index = firstItems.firstIndex { $0 == normalized }
            }
            guard let index else {
                throw QueryError(
                    .semanticError, "\(Compiler.ordinalName(n + 1)) ORDER BY term does not match any column in the result set",
                    at: term.expression.location)
            }
            plan.sortKeys.append(SelectPlan.SortKey(index: index, descending: term.descending, nullsFirst: term.nullsFirst ?? !term.descending))
        }
        if let lastScope { try compileLimit(select, plan, lastScope) }
        plan.correlated = correlated
        return plan
    }

    private func compileLimit(_ select: Select, _ plan: SelectPlan, _ scope: Scope) throws(QueryError) {
        // LIMIT/OFFSET may not read the query's own rows; compile them over an empty scope.
        let empty = Scope(parent: scope.parent)
        if let limit = select.limit { plan.limit = try compile(limit, empty).eval }
        if let offset = select.offset { plan.offset = try compile(offset, empty).eval }
        if empty.correlated { scope.correlated = true }
    }

    static func ordinal(_ e: Expression) -> Int? {
        switch e {
        case .literal(.integer(let i), _): return Int(clamping: i)
        case .unary("+", let x, _): return ordinal(x)
        case .unary("-", .literal(.integer(let i), _), _): return -Int(clamping: i)
        default: return nil
        }
    }

    static func ordinalName(_ n: Int) -> String {
        switch n {
        case 1: "1st"
        case 2: "2nd"
        case 3: "3rd"
        default: "\(n)th"
        }
    }

    // MARK: - Cores

    func compileCore(
        _ core: SelectCore, parent: Scope?, orderBy: [OrderTerm]
    ) throws(QueryError) -> (CorePlan, Scope, [String], [Affinity], [SelectPlan.SortKey]) {
        let scope = Scope(parent: parent)
        let plan = CorePlan()
        var whereTerms: [Expression] = []
        var onTerms: [Int: [Expression]] = [:]
        var produces: [CorePlan.Producer] = []
        var leftJoined: [Bool] = []
        if let from = core.from {
            try addFrom(from, scope, parent, &produces, &leftJoined, &whereTerms, &onTerms, isLeft: false)
        }
        if let w = core.whereClause { whereTerms.append(w) }
        scope.useWideLayout()
        plan.width = scope.wideWidth
        plan.fixedOrder = leftJoined.contains(true)
        for (i, produce) in produces.enumerated() {
            plan.sources.append(
                CorePlan.Source(
                    produce: produce, width: scope.sources[i].columns.count, offset: scope.offsets[i]!, leftJoined: leftJoined[i]))
        }

        // Result items (stars expanded).
        var items: [OutputItem] = []
        for item in core.items {
            switch item {
            case .star(let location):
                guard !scope.sources.isEmpty else {
                    throw QueryError(.semanticError, "no tables specified for '*' at \(location)", at: location)
                }
                for (s, source) in scope.sources.enumerated() {
                    for (c, name) in source.columns.enumerated() where !source.hidden.contains(c) {
                        items.append(OutputItem(name: name, expression: nil, direct: (s, c), alias: nil))
                    }
                }
            case .tableStar(let table, let location):
                guard let s = scope.sources.firstIndex(where: { $0.name == table.lowercased() }) else {
                    throw nameError(
                        .unknownTable, "unknown table '\(table)' in '\(table).*'", location,
                        NameSuggestion.hint(for: table, in: scope.sources.map(\.name)))
                }
                for (c, name) in scope.sources[s].columns.enumerated() {
                    items.append(OutputItem(name: name, expression: nil, direct: (s, c), alias: nil))
                }
            case .expression(let e, let alias, let text):
                var name = alias ?? text
                if alias == nil, case .column(_, let column, _) = e { name = column }
                items.append(OutputItem(name: name, expression: e, direct: nil, alias: alias))
            }
        }
        scope.aliases = items.compactMap { item in item.alias.map { ($0.lowercased(), item.expression!) } }

        // WHERE and inner ON conjuncts.
        scope.allowAliases = true
        for term in whereTerms {
            for c in Compiler.conjuncts(term) {
                // `column BETWEEN literal AND literal` filters exactly as `column >= lo AND column <= hi`
                // (same comparison affinities); as two terms it can use the columnar scan.
                if case .between(let x, let low, let high, false, let location) = c, case .column(_, let name, _) = x,
                    Compiler.isLiteral(low), Compiler.isLiteral(high),
                    !scope.aliases.contains(where: { $0.0 == name.lowercased() })
                {
                    try addConjunct(.binary(">=", x, low, location), scope, plan, into: nil)
                    try addConjunct(.binary("<=", x, high, location), scope, plan, into: nil)
                    continue
                }
                try addConjunct(c, scope, plan, into: nil)
            }
        }
        for (s, terms) in onTerms.sorted(by: { $0.key < $1.key }) {
            for term in terms {
                for c in Compiler.conjuncts(term) { try addConjunct(c, scope, plan, into: s) }
            }
        }
        scope.useWideLayout()

        // Aggregation.
        let aggregateQuery =
            !core.groupBy.isEmpty || core.having != nil
            || items.contains { $0.expression.map(Compiler.containsAggregate) ?? false }
            || orderBy.contains { Compiler.containsAggregate($0.expression) }
        plan.isAggregate = aggregateQuery
        if aggregateQuery {
            for term in core.groupBy {
                if let k = Compiler.ordinal(term) {
                    guard k >= 1 && k <= items.count else {
                        throw QueryError(
                            .semanticError, "GROUP BY term out of range - should be between 1 and \(items.count)", at: term.location)
                    }
                    let item = items[k - 1]
                    if let e = item.expression {
                        if Compiler.containsAggregate(e) {
                            throw QueryError(.semanticError, "aggregate functions are not allowed in the GROUP BY clause", at: term.location)
                        }
                        scope.allowAliases = false
                        let compiled = try compile(e, scope)
                        plan.groupKeys.append(compiled.eval)
                        plan.groupKeyColumns.append(compiled.columnIndex)
                        scope.allowAliases = true
                    } else {
                        plan.groupKeys.append(directEval(item.direct!, scope))
                        plan.groupKeyColumns.append(nil)
                    }
                    continue
                }
                if Compiler.containsAggregate(term) {
                    throw QueryError(.semanticError, "aggregate functions are not allowed in the GROUP BY clause", at: term.location)
                }
                let compiled = try compile(term, scope)
                plan.groupKeys.append(compiled.eval)
                plan.groupKeyColumns.append(compiled.columnIndex)
            }
            scope.aggregates = AggregateCollector(base: plan.width)
        }

        // Items.
        scope.allowAliases = false
        var names: [String] = []
        var affinities: [Affinity] = []
        for item in items {
            names.append(item.name)
            if let e = item.expression {
                let c = try compile(e, scope)
                plan.items.append(c.eval)
                plan.itemColumns.append(c.columnIndex)
                affinities.append(c.affinity)
            } else {
                plan.items.append(directEval(item.direct!, scope))
                plan.itemColumns.append(scope.offsets[item.direct!.0].map { $0 + item.direct!.1 })
                affinities.append(scope.sources[item.direct!.0].affinities[item.direct!.1])
            }
        }
        scope.allowAliases = true
        if let having = core.having {
            if !aggregateQuery {
                throw QueryError(.semanticError, "a GROUP BY clause is required before HAVING", at: having.location)
            }
            plan.having = try compile(having, scope).eval
        }

        // ORDER BY.
        var sortKeys: [SelectPlan.SortKey] = []
        for (n, term) in orderBy.enumerated() {
            var index: Int?
            if case .column(nil, let name, _) = term.expression {
                index = items.firstIndex { $0.alias?.lowercased() == name.lowercased() }
            }
            if index == nil, let k = Compiler.ordinal(term.expression) {
                guard k >= 1 && k <= items.count else {
                    throw QueryError(
                        .semanticError, "\(Compiler.ordinalName(n + 1)) ORDER BY term out of range - should be between 1 and \(items.count)",
                        at: term.expression.location)
                }
                index = k - 1
            }
            if index == nil {
                let normalized = term.expression.normalized
                index = items.firstIndex { $0.expression?.normalized == normalized }
            }
            if index == nil {
                index = items.count + plan.extras.count
                let c = try compile(term.expression, scope)
                plan.extras.append(c.eval)
                plan.itemColumns.append(c.columnIndex)
            }
            sortKeys.append(SelectPlan.SortKey(index: index!, descending: term.descending, nullsFirst: term.nullsFirst ?? !term.descending))
        }
        if let collector = scope.aggregates {
            plan.aggregates = collector.specs
            if collector.specs.count == 1, collector.specs[0].kind == .min || collector.specs[0].kind == .max {
                plan.bareFromAggregate = 0
            }
        }
        scope.aggregates = nil
        plan.distinct = core.distinct
        return (plan, scope, names, affinities, sortKeys)
    }

    private func directEval(_ direct: (Int, Int), _ scope: Scope) -> Eval {
        let index = scope.offsets[direct.0]! + direct.1
        return { f in f.row[index] }
    }

    /// A literal, or a signed literal.
    static func isLiteral(_ e: Expression) -> Bool {
        switch e {
        case .literal: true
        case .unary(let op, .literal, _): op == "-" || op == "+"
        default: false
        }
    }

    static func conjuncts(_ e: Expression) -> [Expression] {
        if case .binary("AND", let a, let b, _) = e { return conjuncts(a) + conjuncts(b) }
        return [e]
    }

    /// Compiles one AND term: pushed down to a source, kept as a join condition, or a constant filter.
    /// `onSource` is the right side of a LEFT JOIN whose ON clause this term belongs to.
    private func addConjunct(_ e: Expression, _ scope: Scope, _ plan: CorePlan, into onSource: Int?) throws(QueryError) {
        scope.useWideLayout()
        scope.referenced = []
        let wide = try compile(e, scope)
        let refs = scope.referenced
        if let v = wide.constant, onSource == nil {
            if SQLValue.truth(v) != true { plan.constantFilters.append({ _ in .integer(0) }) }
            return
        }
        if refs.isEmpty && onSource == nil {
            plan.constantFilters.append(wide.eval)
            return
        }
        if refs.count == 1, let s = refs.first, (onSource == nil && !plan.sources[s].leftJoined) || onSource == s {
            scope.useNarrowLayout(s)
            let before = scope.outerReferences
            let compiled = try compile(e, scope)
            let narrow = compiled.eval
            if scope.outerReferences == before {
                plan.sources[s].staticFilters.append(narrow)
                plan.sources[s].staticPredicates.append(compiled.predicate)
            } else {
                var lookup: CorePlan.Lookup?
                if case .binary("=", let a, let b, _) = e, plan.sources[s].lookup == nil {
                    lookup = try correlatedLookup(a, b, s, scope)
                    if lookup == nil { lookup = try correlatedLookup(b, a, s, scope) }
                }
                if let lookup {
                    plan.sources[s].lookup = lookup
                } else {
                    plan.sources[s].filters.append(narrow)
                }
            }
            scope.useWideLayout()
            return
        }
        var conjunct = CorePlan.Conjunct(sources: refs, wide: wide.eval, equi: nil)
        if case .binary("=", let a, let b, _) = e {
            scope.referenced = []
            let ca = try compile(a, scope)
            let ra = scope.referenced
            scope.referenced = []
            let cb = try compile(b, scope)
            let rb = scope.referenced
            if !ra.isEmpty, !rb.isEmpty, ra.isDisjoint(with: rb) {
                let (affA, affB) = Affinity.comparison(ca.affinity, cb.affinity)
                var equi = CorePlan.Equi(
                    leftSources: ra, leftWide: ca.eval, leftNarrow: nil, rightSources: rb, rightWide: cb.eval, rightNarrow: nil,
                    leftAffinity: affA, rightAffinity: affB)
                if ra.count == 1 {
                    scope.useNarrowLayout(ra.first!)
                    let narrow = try compile(a, scope)
                    equi.leftNarrow = narrow.eval
                    equi.leftColumn = narrow.columnIndex
                }
                if rb.count == 1 {
                    scope.useNarrowLayout(rb.first!)
                    let narrow = try compile(b, scope)
                    equi.rightNarrow = narrow.eval
                    equi.rightColumn = narrow.columnIndex
                }
                scope.useWideLayout()
                conjunct.equi = equi
            }
        }
        if let onSource {
            plan.sources[onSource].onConjuncts.append(conjunct)
        } else {
            plan.conjuncts.append(conjunct)
        }
    }

    /// `inner = outer` where `inner` reads only source `s` of this query and `outer` only enclosing
    /// queries: the source can be indexed once on `inner` and probed per outer row.
    private func correlatedLookup(
        _ inner: Expression, _ outer: Expression, _ s: Int, _ scope: Scope
    ) throws(QueryError) -> CorePlan.Lookup? {
        scope.referenced = []
        let before = scope.outerReferences
        let ci = try compile(inner, scope)
        guard scope.outerReferences == before, scope.referenced == [s] else { return nil }
        scope.referenced = []
        let co = try compile(outer, scope)
        guard scope.referenced.isEmpty, scope.outerReferences > before else { return nil }
        let (affInner, affOuter) = Affinity.comparison(ci.affinity, co.affinity)
        return CorePlan.Lookup(inner: ci.eval, innerAffinity: affInner, outer: co.eval, outerAffinity: affOuter)
    }

    private func addFrom(
        _ item: FromItem, _ scope: Scope, _ parent: Scope?,
        _ produces: inout [CorePlan.Producer], _ leftJoined: inout [Bool],
        _ whereTerms: inout [Expression], _ onTerms: inout [Int: [Expression]], isLeft: Bool
    ) throws(QueryError) {
        switch item {
        case .table(let name, let alias, let location):
            guard let relation = try provider.relation(named: name, at: location) else {
                throw nameError(
                    .unknownTable, "unknown table '\(name)'", location, NameSuggestion.hint(for: name, in: provider.relationNames))
            }
            scope.sources.append(
                Scope.Source(
                    name: (alias ?? name).lowercased(), columns: relation.columns, lowered: relation.columns.map { $0.lowercased() },
                    affinities: relation.affinities))
            produces.append(.relation(relation))
            leftJoined.append(isLeft)
        case .subquery(let select, let alias, _):
            let plan = try subquery(select, parent ?? Scope(parent: nil))
            if plan.correlated { scope.correlated = true }
            scope.sources.append(
                Scope.Source(
                    name: (alias ?? "").lowercased(), columns: plan.columns, lowered: plan.columns.map { $0.lowercased() },
                    affinities: plan.affinities))
            produces.append(.plan(plan))
            leftJoined.append(isLeft)
        case .join(let left, let kind, let right, let on, let using, let location):
            try addFrom(left, scope, parent, &produces, &leftJoined, &whereTerms, &onTerms, isLeft: isLeft)
            let leftCount = scope.sources.count
            try addFrom(right, scope, parent, &produces, &leftJoined, &whereTerms, &onTerms, isLeft: kind == .left)
            if kind == .left && scope.sources.count - leftCount != 1 {
                throw QueryError(.unsupported, "LEFT JOIN of a parenthesized join is not supported", at: location)
            }
            var terms: [Expression] = []
            if let on { terms.append(on) }
            for column in using {
                let lowered = column.lowercased()
                guard let l = (0..<leftCount).first(where: { scope.sources[$0].lowered.contains(lowered) }),
                    let r = (leftCount..<scope.sources.count).first(where: { scope.sources[$0].lowered.contains(lowered) })
                else {
                    throw QueryError(.unknownColumn, "cannot join using column '\(column)' - column not present in both tables", at: location)
                }
                let rc = scope.sources[r].lowered.firstIndex(of: lowered)!
                scope.sources[r].hidden.insert(rc)
                scope.usingColumns.insert(lowered)
                // Compare the two columns by position (names may repeat across sources).
                terms.append(
                    .binary(
                        "=", .column(table: scope.sources[l].name, name: column, location),
                        .column(table: scope.sources[r].name, name: column, location), location))
            }
            if kind == .left {
                onTerms[scope.sources.count - 1, default: []].append(contentsOf: terms)
            } else {
                whereTerms.append(contentsOf: terms)
            }
        }
    }
}
