public import QueryCore

extension Parser {
    /// Parses a (compound) select with ORDER BY and LIMIT.
    public mutating func parseSelect() throws(QueryError) -> Select {
        try enter()
        defer { leave() }
        let location = current.location
        var select = Select(core: try parseSelectCore(), location: location)
        while true {
            let op: CompoundOperator
            if accept(keyword: "UNION") {
                op = accept(keyword: "ALL") ? .unionAll : .union
            } else if accept(keyword: "INTERSECT") {
                op = .intersect
            } else if accept(keyword: "EXCEPT") {
                op = .except
            } else {
                break
            }
            select.compounds.append(Select.CompoundPart(op: op, core: try parseSelectCore()))
        }
        if accept(keyword: "ORDER") {
            try expect(keyword: "BY")
            repeat {
                let expression = try parseExpression()
                var descending = false
                if accept(keyword: "DESC") {
                    descending = true
                } else {
                    _ = accept(keyword: "ASC")
                }
                var nullsFirst: Bool?
                if accept(keyword: "NULLS") {
                    if accept(keyword: "FIRST") {
                        nullsFirst = true
                    } else {
                        try expect(keyword: "LAST")
                        nullsFirst = false
                    }
                }
                select.orderBy.append(OrderTerm(expression: expression, descending: descending, nullsFirst: nullsFirst))
            } while accept(symbol: ",")
        }
        if accept(keyword: "LIMIT") {
            let first = try parseExpression()
            if accept(keyword: "OFFSET") {
                select.limit = first
                select.offset = try parseExpression()
            } else if accept(symbol: ",") {
                // LIMIT offset, count
                select.offset = first
                select.limit = try parseExpression()
            } else {
                select.limit = first
            }
        }
        return select
    }

    mutating func parseSelectCore() throws(QueryError) -> SelectCore {
        let location = current.location
        if accept(keyword: "VALUES") {
            // VALUES (…), (…) as a compound of constant selects is rare; support a single row.
            var core = SelectCore(location: location)
            try expect(symbol: "(")
            var n = 0
            repeat {
                let start = current.range.lowerBound
                let e = try parseExpression()
                n += 1
                core.items.append(.expression(e, alias: "column\(n)", text: text(from: start, to: previousEnd)))
            } while accept(symbol: ",")
            try expect(symbol: ")")
            if current.isSymbol(",") { throw QueryError(.unsupported, "multi-row VALUES in a query is not supported", at: current.location) }
            return core
        }
        try expect(keyword: "SELECT")
        var core = SelectCore(location: location)
        if accept(keyword: "DISTINCT") {
            core.distinct = true
        } else {
            _ = accept(keyword: "ALL")
        }
        repeat {
            let itemLocation = current.location
            if accept(symbol: "*") {
                core.items.append(.star(itemLocation))
                continue
            }
            if current.kind == .identifier || current.kind == .quotedIdentifier, peek(1).isSymbol("."), peek(2).isSymbol("*") {
                let table = advance().text
                index += 2
                core.items.append(.tableStar(table, itemLocation))
                continue
            }
            let start = current.range.lowerBound
            let expression = try parseExpression()
            let end = previousEnd
            let alias = try parseAlias()
            core.items.append(.expression(expression, alias: alias, text: text(from: start, to: end)))
        } while accept(symbol: ",")
        if accept(keyword: "FROM") {
            core.from = try parseFrom()
        }
        if accept(keyword: "WHERE") {
            core.whereClause = try parseExpression()
        }
        if accept(keyword: "GROUP") {
            try expect(keyword: "BY")
            repeat { core.groupBy.append(try parseExpression()) } while accept(symbol: ",")
        }
        if accept(keyword: "HAVING") {
            core.having = try parseExpression()
        }
        return core
    }

    mutating func parseFrom() throws(QueryError) -> FromItem {
        var left = try parseFromPrimary()
        while true {
            let location = current.location
            var kind = JoinKind.inner
            if accept(symbol: ",") {
                left = .join(left, .inner, try parseFromPrimary(), on: nil, using: [], location)
                continue
            } else if accept(keyword: "CROSS") {
                try expect(keyword: "JOIN")
            } else if accept(keyword: "INNER") {
                try expect(keyword: "JOIN")
            } else if accept(keyword: "LEFT") {
                _ = accept(keyword: "OUTER")
                try expect(keyword: "JOIN")
                kind = .left
            } else if accept(keyword: "JOIN") {
            } else if current.isKeyword("RIGHT") || current.isKeyword("FULL") || current.isKeyword("NATURAL") {
                throw QueryError(.unsupported, "\(current.text.uppercased()) JOIN is not supported", at: location)
            } else {
                return left
            }
            let right = try parseFromPrimary()
            var on: Expression?
            var using: [String] = []
            if accept(keyword: "ON") {
                on = try parseExpression()
            } else if accept(keyword: "USING") {
                try expect(symbol: "(")
                repeat { using.append(try parseName("a column name")) } while accept(symbol: ",")
                try expect(symbol: ")")
            }
            left = .join(left, kind, right, on: on, using: using, location)
        }
    }

    mutating func parseFromPrimary() throws(QueryError) -> FromItem {
        let location = current.location
        if accept(symbol: "(") {
            try enter()
            defer { leave() }
            if current.isKeyword("SELECT") || current.isKeyword("VALUES") {
                let select = try parseSelect()
                try expect(symbol: ")")
                let alias = try parseAlias()
                return .subquery(select, alias: alias, location)
            }
            let inner = try parseFrom()
            try expect(symbol: ")")
            return inner
        }
        var name = try parseName("a table name")
        if accept(symbol: ".") { name = try parseName("a table name") }
        let alias = try parseAlias()
        if accept(keyword: "INDEXED") {
            try expect(keyword: "BY")
            _ = try parseName("an index name")
        } else if current.isKeyword("NOT"), peek(1).isKeyword("INDEXED") {
            index += 2
        }
        return .table(name: name, alias: alias, location)
    }
}
