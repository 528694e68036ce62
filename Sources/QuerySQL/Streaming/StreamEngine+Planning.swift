import QueryCore

extension StreamEngine {
    /// Validates a statement against the current streams without registering anything.
    func planDryRun(_ ast: EPLStatement, text: String) throws(QueryError) -> StatementRuntime {
        try plan(ast, id: StatementID(0), text: text, commit: false)
    }

    /// Compiles a parsed statement into its runtime. With `commit`, registers filters, creates
    /// derived streams and attaches named windows; nothing is changed if an error is thrown.
    func plan(_ ast: EPLStatement, id: StatementID, text: String, commit: Bool = true) throws(QueryError) -> StatementRuntime {
        switch ast {
        case .createSchema(let name, let columns, let location):
            let schema: Schema
            do { schema = try Schema(columns) } catch { throw QueryError(error.code, error.message, at: location) }
            if let index = streamIndex(name), streams[index].schema != schema {
                throw QueryError(.alreadyExists, "stream '\(name)' already exists with schema \(streams[index].schema)", at: location)
            }
            if commit {
                do { try defineStream(name, schema: schema) } catch { throw QueryError(error.code, error.message, at: location) }
            }
            return InertStatement(id: id, text: text)

        case .createWindow(let name, let views, let columns, let source, let location):
            guard streamIndex(name) == nil else {
                throw QueryError(.alreadyExists, "a stream or window named '\(name)' already exists", at: location)
            }
            let schema: Schema
            if let columns {
                do { schema = try Schema(columns) } catch { throw QueryError(error.code, error.message, at: location) }
            } else {
                guard let source, let index = streamIndex(source) else {
                    throw QueryError(.unknownTable, "unknown stream '\(source ?? "")'", at: location)
                }
                schema = streams[index].schema
            }
            let window = try windowSpec(views, schema: schema, streamName: name, at: location)
            guard commit else { return InertStatement(id: id, text: text) }
            let stream = addDerivedStream(name, schema: schema)
            let runtime = NamedWindowRuntime(id: id, text: text, stream: stream, window: window)
            runtime.columns = schema.columnNames
            attachNamedWindow(runtime, to: stream)
            return runtime

        case .onDelete(let trigger, let windowName, let windowAlias, let condition, let location):
            guard let windowIndex = streamIndex(windowName), let named = streams[windowIndex].namedWindow else {
                throw QueryError(.unknownTable, "'\(windowName)' is not a named window", at: location)
            }
            guard let triggerIndex = streamIndex(trigger.name) else {
                throw QueryError(.unknownTable, "unknown stream '\(trigger.name)'", at: trigger.location)
            }
            let triggerFilter = try compileStreamFilter(trigger, stream: triggerIndex)
            var compiler = ExpressionCompiler(
                positions: [
                    ScopePosition(alias: trigger.alias, streamName: trigger.name, schema: streams[triggerIndex].schema),
                    ScopePosition(alias: windowAlias, streamName: windowName, schema: streams[windowIndex].schema),
                ], source: text)
            let compiled = try condition.map { (c) throws(QueryError) in try compiler.compile(c) }
            let runtime = OnDeleteRuntime(
                id: id, text: text, window: named, condition: compiled, columns: streams[windowIndex].schema.columnNames)
            if commit { register(id, stream: triggerIndex, consumer: runtime, filter: triggerFilter) }
            return runtime

        case .select(let select):
            return try planSelect(select, id: id, text: text, commit: commit)
        }
    }

    private func compileStreamFilter(_ spec: EPLStreamSpec, stream: Int) throws(QueryError) -> CompiledExpression? {
        guard let filter = spec.filter else { return nil }
        var compiler = ExpressionCompiler(
            positions: [ScopePosition(alias: spec.alias, streamName: spec.name, schema: streams[stream].schema)],
            source: "")
        return try compiler.compile(filter)
    }

    /// Resolves a stream's views into one window specification.
    func windowSpec(_ views: [EPLView], schema: Schema, streamName: String, at location: SourceLocation) throws(QueryError) -> WindowSpec {
        var grouping: [Int]? = nil
        var window: WindowSpec? = nil
        func fields(_ view: EPLView) throws(QueryError) -> [Int] {
            guard !view.arguments.isEmpty else {
                throw QueryError(.semanticError, "\(view.name) needs at least one field", at: view.location)
            }
            var result: [Int] = []
            for argument in view.arguments {
                guard case .column(_, let name) = argument.kind else {
                    throw QueryError(.semanticError, "\(view.name) takes field names", at: argument.location)
                }
                guard let index = schema.index(of: name) else {
                    throw QueryError(.unknownColumn, "stream '\(streamName)' has no field '\(name)'", at: argument.location)
                }
                result.append(index)
            }
            return result
        }
        func count(_ view: EPLView) throws(QueryError) -> Int {
            guard view.arguments.count == 1, case .literal(.integer(let n)) = view.arguments[0].kind, n >= 1, n <= 100_000_000
            else {
                throw QueryError(.semanticError, "\(view.name) needs one positive whole number", at: view.location)
            }
            return Int(n)
        }
        func period(_ view: EPLView) throws(QueryError) -> Int64 {
            guard view.arguments.count == 1 else {
                throw QueryError(.semanticError, "\(view.name) needs one time period such as 20 sec", at: view.location)
            }
            return try ExpressionCompiler.period(view.arguments[0], what: view.name)
        }
        for view in views {
            guard window == nil else {
                throw QueryError(
                    .unsupported, "only one data window per stream is supported (optionally after std:groupwin)",
                    at: view.location)
            }
            let known: Set<String> = ["win", "std", "ext"]
            if let ns = view.namespace, !known.contains(ns) {
                throw QueryError(.unsupported, "unknown view namespace '\(ns)'", at: view.location)
            }
            switch view.name {
            case "time": window = .time(try period(view))
            case "time_batch": window = .timeBatch(try period(view))
            case "length": window = .length(try count(view))
            case "length_batch": window = .lengthBatch(try count(view))
            case "keepall": window = .keepAll
            case "lastevent": window = .length(1)
            case "unique": window = .unique(try fields(view))
            case "groupwin":
                guard grouping == nil else {
                    throw QueryError(.unsupported, "std:groupwin can appear once", at: view.location)
                }
                grouping = try fields(view)
            default:
                throw QueryError(
                    .unsupported,
                    "unknown view '\(view.name)'; supported: win:time, win:length, win:time_batch, win:length_batch, win:keepall, std:unique, std:lastevent, std:groupwin",
                    at: view.location)
            }
        }
        if let grouping {
            guard let window else {
                throw QueryError(.semanticError, "std:groupwin must be followed by a data window", at: location)
            }
            return .grouped(grouping, window)
        }
        return window ?? .none
    }

    // MARK: SELECT

    private func planSelect(_ select: EPLSelect, id: StatementID, text: String, commit: Bool) throws(QueryError) -> StatementRuntime {
        // Positions of the FROM clause.
        var positions: [ScopePosition] = []
        var streamSpecs: [(spec: EPLStreamSpec, stream: Int, window: WindowSpec, named: NamedWindowRuntime?)] = []
        var patternSpec: PatternSpec? = nil
        var patternFilters: [(EPLExpr?, Int)] = []
        var isPattern = false
        switch select.from {
        case .streams(let specs):
            for spec in specs {
                guard let stream = streamIndex(spec.name) else {
                    throw QueryError(
                        .unknownTable, "unknown stream '\(spec.name)'; declare it with create schema", at: spec.location)
                }
                let schema = streams[stream].schema
                let named = streams[stream].namedWindow
                if named != nil && !spec.views.isEmpty {
                    throw QueryError(.semanticError, "named window '\(spec.name)' already has its window; drop the view", at: spec.location)
                }
                let window = try windowSpec(spec.views, schema: schema, streamName: spec.name, at: spec.location)
                positions.append(ScopePosition(alias: spec.alias, streamName: streams[stream].name, schema: schema))
                streamSpecs.append((spec, stream, window, named))
            }
            let names = positions.map { ($0.alias ?? $0.streamName).lowercased() }
            if Set(names).count != names.count {
                throw QueryError(.semanticError, "each stream in a join needs a distinct alias", at: specs[0].location)
            }
        case .pattern(let pattern, _, _):
            isPattern = true
            patternSpec = try compilePattern(pattern, positions: &positions, filters: &patternFilters)
        }

        var compiler = ExpressionCompiler(positions: positions, source: text)
        var aliases: [String: EPLExpr] = [:]
        for item in select.items {
            if case .expression(let e, let alias?, _) = item { aliases[alias.lowercased()] = e }
        }
        compiler.selectAliases = aliases

        // Pattern filters, each with its own event as the default position.
        if var spec = patternSpec {
            var compiledFilters: [CompiledExpression?] = []
            for (filter, position) in patternFilters {
                var c = ExpressionCompiler(positions: positions, source: text)
                c.defaultPosition = position
                compiledFilters.append(try filter.map { (f) throws(QueryError) in try c.compile(f) })
            }
            var next = 0
            spec = Self.attachFilters(spec, compiledFilters, &next)
            patternSpec = spec
        }

        // Select list.
        var columns: [String] = []
        var selectExpressions: [CompiledExpression] = []
        var selectTexts: [String] = []
        compiler.allowAggregates = true
        for item in select.items {
            switch item {
            case .star(let qualifier, let location):
                var chosen = Array(positions.indices)
                if let qualifier {
                    guard let p = compiler.positionIndex(qualifier) else {
                        throw QueryError(.unknownTable, "unknown stream or tag '\(qualifier)'", at: location)
                    }
                    chosen = [p]
                }
                chosen = chosen.filter { !(positions[$0].alias?.hasPrefix("#") ?? false) }
                let prefix = positions.count > 1 && qualifier == nil
                for p in chosen {
                    for (c, column) in positions[p].schema.columns.enumerated() {
                        selectExpressions.append(.field(position: p, column: c))
                        columns.append(prefix ? "\(positions[p].alias ?? positions[p].streamName).\(column.name)" : column.name)
                        selectTexts.append(column.name.lowercased())
                    }
                }
            case .expression(let e, let alias, let itemText):
                selectExpressions.append(try compiler.compile(e))
                if let alias {
                    columns.append(alias)
                } else if case .column(_, let name) = e.kind {
                    columns.append(name)
                } else {
                    columns.append(itemText)
                }
                selectTexts.append(itemText.lowercased().filter { !$0.isWhitespace })
            }
        }

        // WHERE: conjuncts that use aggregates (directly or through a select alias such as
        // `where avgMemUtil > 70`) are evaluated as HAVING, after aggregation.
        var whereParts: [EPLExpr] = []
        var havingParts: [EPLExpr] = []
        if let w = select.whereClause {
            for part in Self.conjuncts(w) {
                if compiler.containsAggregate(part) { havingParts.append(part) } else { whereParts.append(part) }
            }
        }
        compiler.allowAggregates = false
        var whereClause: CompiledExpression? = nil
        for part in whereParts {
            let c = try compiler.compile(part)
            whereClause = whereClause.map { .and($0, c) } ?? c
        }

        // GROUP BY (by expression, select alias or ordinal).
        var groupBy: [CompiledExpression] = []
        var groupTexts: [String] = []
        for g in select.groupBy {
            if case .literal(.integer(let k)) = g.kind {
                guard k >= 1, Int(k) <= selectExpressions.count else {
                    throw QueryError(.semanticError, "GROUP BY \(k) is not a select item", at: g.location)
                }
                groupBy.append(selectExpressions[Int(k) - 1])
                groupTexts.append(selectTexts[Int(k) - 1])
                continue
            }
            if compiler.containsAggregate(g) {
                throw QueryError(.semanticError, "GROUP BY cannot use an aggregate", at: g.location)
            }
            groupBy.append(try compiler.compile(g))
            groupTexts.append(EPLLexer.text(text, from: g.start, to: g.end).lowercased().filter { !$0.isWhitespace })
        }

        // HAVING.
        compiler.allowAggregates = true
        var having: CompiledExpression? = nil
        for part in (select.having.map { [$0] } ?? []) + havingParts {
            let c = try compiler.compile(part)
            having = having.map { .and($0, c) } ?? c
        }

        // ORDER BY (alias, ordinal or expression).
        var orderBy: [(OrderKey, descending: Bool)] = []
        for (e, descending) in select.orderBy {
            if case .literal(.integer(let k)) = e.kind {
                guard k >= 1, Int(k) <= columns.count else {
                    throw QueryError(.semanticError, "ORDER BY \(k) is not a result column", at: e.location)
                }
                orderBy.append((.column(Int(k) - 1), descending))
            } else if case .column(nil, let name) = e.kind,
                let i = columns.firstIndex(where: { $0.lowercased() == name.lowercased() })
            {
                orderBy.append((.column(i), descending))
            } else {
                orderBy.append((.expression(try compiler.compile(e)), descending))
            }
        }

        let aggregates = compiler.aggregates
        let isAggregated = !aggregates.isEmpty || !groupBy.isEmpty
        var hasUngroupedProperties = false
        if isAggregated {
            var groupedFields = Set<[Int]>()
            for g in groupBy { if case .field(let p, let c) = g { groupedFields.insert([p, c]) } }
            for (i, e) in selectExpressions.enumerated() where !groupTexts.contains(selectTexts[i]) {
                if Self.fields(of: e).contains(where: { !groupedFields.contains($0) }) { hasUngroupedProperties = true }
            }
        }

        // A single stream without a data window retains nothing, so its WHERE can run before any
        // state and join the indexed stream filter.
        var streamFilters: [CompiledExpression?] = []
        for (spec, stream, _, _) in streamSpecs {
            streamFilters.append(try compileStreamFilter(spec, stream: stream))
        }
        if streamSpecs.count == 1, case .none = streamSpecs[0].window, streamSpecs[0].named == nil, let w = whereClause {
            streamFilters[0] = streamFilters[0].map { .and($0, w) } ?? w
            whereClause = nil
        }

        var output = select.output
        if let o = output, case .events = o.interval, o.kind == .snapshot, !isAggregated, streamSpecs.isEmpty {
            output = o
        }
        let fifo = positions.count == 1 && !isPattern && streamSpecs.allSatisfy { $0.window.isFIFO && $0.named == nil }
        let plan = StreamSelectPlan(
            columns: columns, selectExpressions: selectExpressions, whereClause: whereClause, groupBy: groupBy,
            having: having, aggregates: aggregates, orderBy: orderBy, distinct: select.distinct, limit: select.limit,
            output: output, isAggregated: isAggregated, hasUngroupedProperties: hasUngroupedProperties, fifo: fifo,
            width: positions.count)

        // INSERT INTO: an existing stream (fields matched by name) or a new derived stream.
        var insertTarget: Int? = nil
        var insertMapping: [Int?] = []
        var derivedSchema: Schema? = nil
        if let target = select.insertInto {
            if let index = streamIndex(target) {
                let schema = streams[index].schema
                for column in columns {
                    guard let field = schema.index(of: column) else {
                        throw QueryError(
                            .schemaMismatch, "column '\(column)' is not a field of '\(target)' \(schema)")
                    }
                    insertMapping.append(field)
                }
                insertTarget = index
            } else {
                do {
                    derivedSchema = try Schema(columns.map { ColumnDefinition($0, .any) })
                } catch {
                    throw QueryError(error.code, "cannot derive stream '\(target)': \(error.message); alias the columns")
                }
                insertMapping = columns.indices.map { $0 }
            }
        }

        let runtime: StatementRuntime
        if let patternSpec {
            let pattern = PatternStatementRuntime(id: id, text: text, plan: plan, pattern: patternSpec)
            if let o = plan.output { pattern.pipeline.limiter = OutputLimiter(spec: o) }
            pattern.pipeline.limiter?.pipeline = pattern.pipeline
            pattern.pipeline.emit = { [unowned(unsafe) pattern] rows, engine in engine.emit(pattern, rows: rows) }
            runtime = pattern
        } else {
            let statement = SelectStatementRuntime(id: id, text: text, plan: plan)
            if let o = plan.output { statement.pipeline.limiter = OutputLimiter(spec: o) }
            statement.pipeline.limiter?.pipeline = statement.pipeline
            statement.pipeline.emit = { [unowned(unsafe) statement] rows, engine in engine.emit(statement, rows: rows) }
            runtime = statement
        }

        guard commit else { return runtime }
        if let target = select.insertInto, let derivedSchema {
            insertTarget = addDerivedStream(target, schema: derivedSchema)
        }
        runtime.insertInto = insertTarget
        runtime.insertMapping = insertMapping
        if let pattern = runtime as? PatternStatementRuntime, let spec = patternSpec {
            for stream in spec.streams.sorted() {
                register(id, stream: stream, consumer: pattern, filter: nil)
            }
        } else if let statement = runtime as? SelectStatementRuntime {
            for (position, entry) in streamSpecs.enumerated() {
                if let named = entry.named {
                    statement.namedWindowPositions[position] = named
                    // A filter on a named window applies to what the statement sees of it.
                    if streamFilters[position] != nil {
                        throw QueryError(
                            .unsupported, "filters on a named window are not supported; use WHERE", at: entry.spec.location)
                    }
                    continue
                }
                if streamSpecs.count == 1, usesFlatAggregation,
                    let kind = AggregatingInput.supports(plan, window: entry.window)
                {
                    // Single-stream aggregation: flat per-group state instead of the row pipeline.
                    var queue: ExpiryQueue? = nil
                    if case .time(let ns) = kind { queue = expiryQueue(duration: ns) }
                    let view = aggregationView(
                        stream: entry.stream, filter: streamFilters[position], plan: plan, window: kind)
                    let input = AggregatingInput(statement: statement, plan: plan, view: view, expiry: queue)
                    statement.aggregating = input
                    register(id, stream: entry.stream, consumer: input, filter: streamFilters[position])
                    continue
                }
                let input = StreamInput(
                    statement: statement, position: position, stream: entry.stream, window: entry.window,
                    compilesEvents: usesEventFilters)
                statement.inputs.append(input)
                register(id, stream: entry.stream, consumer: input, filter: streamFilters[position])
            }
        }
        return runtime
    }

    /// The `[position, column]` pairs an expression reads outside aggregates.
    static func fields(of e: CompiledExpression) -> [[Int]] {
        switch e {
        case .constant, .aggregate: return []
        case .field(let p, let c): return [[p, c]]
        case .negate(let x), .not(let x), .isNull(let x, _), .cast(let x, _): return fields(of: x)
        case .and(let l, let r), .or(let l, let r), .compare(_, let l, let r), .arithmetic(_, let l, let r),
            .concat(let l, let r), .like(let l, let r, _):
            return fields(of: l) + fields(of: r)
        case .inList(let x, let list, _): return list.reduce(fields(of: x)) { $0 + fields(of: $1) }
        case .between(let a, let b, let c, _): return fields(of: a) + fields(of: b) + fields(of: c)
        case .function(_, let arguments): return arguments.flatMap { fields(of: $0) }
        case .caseWhen(let o, let branches, let otherwise):
            var result = o.map { fields(of: $0) } ?? []
            for (w, t) in branches { result += fields(of: w) + fields(of: t) }
            return result + (otherwise.map { fields(of: $0) } ?? [])
        }
    }

    static func conjuncts(_ e: EPLExpr) -> [EPLExpr] {
        if case .binary(.and, let l, let r) = e.kind { return conjuncts(l) + conjuncts(r) }
        return [e]
    }

    // MARK: Patterns

    /// Compiles a pattern's structure, adding one position per tag (and per untagged filter) and
    /// collecting the filters (compiled later, once every tag is known).
    private func compilePattern(
        _ p: EPLPattern, positions: inout [ScopePosition], filters: inout [(EPLExpr?, Int)]
    ) throws(QueryError) -> PatternSpec {
        switch p {
        case .filter(let tag, let streamName, let filter, let location):
            guard let stream = streamIndex(streamName) else {
                throw QueryError(.unknownTable, "unknown stream '\(streamName)' in pattern", at: location)
            }
            let position: Int
            if let tag, let existing = positions.firstIndex(where: { $0.alias?.lowercased() == tag.lowercased() }) {
                guard positions[existing].streamName.lowercased() == streams[stream].name.lowercased() else {
                    throw QueryError(.semanticError, "tag '\(tag)' is used for two different streams", at: location)
                }
                position = existing
            } else {
                position = positions.count
                positions.append(
                    ScopePosition(alias: tag ?? "#\(positions.count)", streamName: streams[stream].name, schema: streams[stream].schema))
            }
            filters.append((filter, position))
            return .filter(stream: stream, position: position, filter: nil)
        case .every(let sub): return .every(try compilePattern(sub, positions: &positions, filters: &filters))
        case .not(let sub): return .not(try compilePattern(sub, positions: &positions, filters: &filters))
        case .and(let a, let b):
            let x = try compilePattern(a, positions: &positions, filters: &filters)
            return .and(x, try compilePattern(b, positions: &positions, filters: &filters))
        case .or(let a, let b):
            let x = try compilePattern(a, positions: &positions, filters: &filters)
            return .or(x, try compilePattern(b, positions: &positions, filters: &filters))
        case .followedBy(let a, let b):
            let x = try compilePattern(a, positions: &positions, filters: &filters)
            return .followedBy(x, try compilePattern(b, positions: &positions, filters: &filters))
        case .within(let sub, let period):
            let x = try compilePattern(sub, positions: &positions, filters: &filters)
            return .within(x, try ExpressionCompiler.period(period, what: "timer:within"))
        case .interval(let period, _):
            return .interval(try ExpressionCompiler.period(period, what: "timer:interval"))
        }
    }

    /// Puts compiled filters into the pattern's filter nodes, in the order they were collected.
    private static func attachFilters(_ p: PatternSpec, _ filters: [CompiledExpression?], _ next: inout Int) -> PatternSpec {
        switch p {
        case .filter(let stream, let position, _):
            defer { next += 1 }
            return .filter(stream: stream, position: position, filter: filters[next])
        case .every(let s): return .every(attachFilters(s, filters, &next))
        case .not(let s): return .not(attachFilters(s, filters, &next))
        case .and(let a, let b):
            let x = attachFilters(a, filters, &next)
            return .and(x, attachFilters(b, filters, &next))
        case .or(let a, let b):
            let x = attachFilters(a, filters, &next)
            return .or(x, attachFilters(b, filters, &next))
        case .followedBy(let a, let b):
            let x = attachFilters(a, filters, &next)
            return .followedBy(x, attachFilters(b, filters, &next))
        case .within(let s, let d): return .within(attachFilters(s, filters, &next), d)
        case .interval: return p
        }
    }
}
