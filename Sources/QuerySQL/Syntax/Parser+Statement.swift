public import QueryCore

extension Parser {
    /// Parses one statement.
    public mutating func parseStatement() throws(QueryError) -> Statement {
        let location = current.location
        if current.isKeyword("SELECT") || current.isKeyword("VALUES") {
            return .select(try parseSelect())
        }
        if accept(keyword: "CREATE") {
            var temporary = false
            if accept(keyword: "TEMP") || accept(keyword: "TEMPORARY") { temporary = true }
            _ = temporary
            if accept(keyword: "TABLE") {
                return .createTable(try parseCreateTable(location))
            }
            if accept(keyword: "VIEW") {
                let ifNotExists = try parseIfNotExists()
                let name = try parseQualifiedName("a view name")
                if accept(symbol: "(") {
                    throw QueryError(.unsupported, "view column lists are not supported", at: current.location)
                }
                try expect(keyword: "AS")
                let start = current.range.lowerBound
                let select = try parseSelect()
                return .createView(name: name, ifNotExists: ifNotExists, select: select, text: text(from: start, to: previousEnd), location)
            }
            _ = accept(keyword: "UNIQUE")
            if accept(keyword: "INDEX") {
                let ifNotExists = try parseIfNotExists()
                let name = try parseQualifiedName("an index name")
                try expect(keyword: "ON")
                let table = try parseName("a table name")
                try skipParenthesized()
                if accept(keyword: "WHERE") { _ = try parseExpression() }
                return .createIndex(name: name, table: table, ifNotExists: ifNotExists, location)
            }
            throw unexpected("expected TABLE, VIEW or INDEX after CREATE")
        }
        if accept(keyword: "DROP") {
            let kind: String
            if accept(keyword: "TABLE") {
                kind = "TABLE"
            } else if accept(keyword: "VIEW") {
                kind = "VIEW"
            } else if accept(keyword: "INDEX") {
                kind = "INDEX"
            } else {
                throw unexpected("expected TABLE, VIEW or INDEX after DROP")
            }
            var ifExists = false
            if accept(keyword: "IF") {
                try expect(keyword: "EXISTS")
                ifExists = true
            }
            let name = try parseQualifiedName("a name")
            return .drop(kind: kind, name: name, ifExists: ifExists, location)
        }
        if current.isKeyword("INSERT") || current.isKeyword("REPLACE") {
            return .insert(try parseInsert(location))
        }
        if accept(keyword: "DELETE") {
            try expect(keyword: "FROM")
            let table = try parseQualifiedName("a table name")
            var whereClause: Expression?
            if accept(keyword: "WHERE") { whereClause = try parseExpression() }
            return .delete(table: table, whereClause: whereClause, location)
        }
        if accept(keyword: "UPDATE") {
            if accept(keyword: "OR") { _ = advance() }
            let table = try parseQualifiedName("a table name")
            try expect(keyword: "SET")
            var assignments: [Assignment] = []
            repeat {
                let column = try parseName("a column name")
                try expect(symbol: "=")
                assignments.append(Assignment(column: column, value: try parseExpression()))
            } while accept(symbol: ",")
            var whereClause: Expression?
            if accept(keyword: "WHERE") { whereClause = try parseExpression() }
            return .update(table: table, assignments: assignments, whereClause: whereClause, location)
        }
        throw unexpected("expected a statement (SELECT, CREATE, DROP, INSERT, DELETE, UPDATE)")
    }

    mutating func parseIfNotExists() throws(QueryError) -> Bool {
        if accept(keyword: "IF") {
            try expect(keyword: "NOT")
            try expect(keyword: "EXISTS")
            return true
        }
        return false
    }

    mutating func parseQualifiedName(_ what: String) throws(QueryError) -> String {
        var name = try parseName(what)
        if accept(symbol: ".") { name = try parseName(what) }
        return name
    }

    mutating func skipParenthesized() throws(QueryError) {
        try expect(symbol: "(")
        var depth = 1
        while depth > 0 {
            if current.kind == .end { throw unexpected("expected ')'") }
            if current.isSymbol("(") { depth += 1 }
            if current.isSymbol(")") { depth -= 1 }
            index += 1
        }
    }

    /// Names in a constraint column list: `(a, b(1) DESC, c COLLATE x)`.
    mutating func parseIndexedColumns() throws(QueryError) -> [String] {
        try expect(symbol: "(")
        var names: [String] = []
        repeat {
            names.append(try parseName("a column name"))
            if current.isSymbol("(") { try skipParenthesized() }
            if accept(keyword: "COLLATE") { _ = try parseName("a collation") }
            if !accept(keyword: "ASC") { _ = accept(keyword: "DESC") }
        } while accept(symbol: ",")
        try expect(symbol: ")")
        return names
    }

    mutating func parseCreateTable(_ location: SourceLocation) throws(QueryError) -> CreateTable {
        let ifNotExists = try parseIfNotExists()
        let name = try parseQualifiedName("a table name")
        if accept(keyword: "AS") {
            throw QueryError(.unsupported, "CREATE TABLE … AS SELECT is not supported", at: current.location)
        }
        try expect(symbol: "(")
        var columns: [ColumnSpec] = []
        var uniqueKeys: [[Int]] = []
        var pendingKeys: [([String], SourceLocation)] = []
        repeat {
            if accept(keyword: "CONSTRAINT") { _ = try parseName("a constraint name") }
            let keyLocation = current.location
            if accept(keyword: "PRIMARY") {
                try expect(keyword: "KEY")
                pendingKeys.append((try parseIndexedColumns(), keyLocation))
                try skipConstraintTail()
                continue
            }
            if accept(keyword: "UNIQUE") {
                pendingKeys.append((try parseIndexedColumns(), keyLocation))
                try skipConstraintTail()
                continue
            }
            if accept(keyword: "CHECK") {
                try skipParenthesized()
                continue
            }
            if accept(keyword: "FOREIGN") {
                try expect(keyword: "KEY")
                try skipConstraintTail()
                continue
            }
            let columnName = try parseName("a column name")
            var declared = ""
            if current.kind == .identifier, !Parser.typeStop.contains(current.text.uppercased()) {
                declared = try parseTypeName()
            }
            var spec = ColumnSpec(name: columnName, declaredType: declared, notNull: false)
            // Column constraints.
            while !current.isSymbol(",") && !current.isSymbol(")") {
                if current.kind == .end { throw unexpected("expected ')'") }
                if accept(keyword: "CONSTRAINT") {
                    _ = try parseName("a constraint name")
                } else if accept(keyword: "PRIMARY") {
                    try expect(keyword: "KEY")
                    if !accept(keyword: "ASC") { _ = accept(keyword: "DESC") }
                    uniqueKeys.append([columns.count])
                } else if accept(keyword: "UNIQUE") {
                    uniqueKeys.append([columns.count])
                } else if accept(keyword: "NOT") {
                    try expect(keyword: "NULL")
                    spec.notNull = true
                } else if accept(keyword: "NULL") {
                } else if accept(keyword: "DEFAULT") {
                    if current.isSymbol("(") { try skipParenthesized() } else { _ = try parseUnary() }
                } else if accept(keyword: "CHECK") {
                    try skipParenthesized()
                } else if accept(keyword: "COLLATE") {
                    _ = try parseName("a collation")
                } else if accept(keyword: "REFERENCES") {
                    _ = try parseName("a table name")
                    if current.isSymbol("(") { try skipParenthesized() }
                } else {
                    // AUTOINCREMENT, ON CONFLICT …, and other clauses without effect here.
                    _ = advance()
                }
            }
            columns.append(spec)
        } while accept(symbol: ",")
        try expect(symbol: ")")
        for (names, keyLocation) in pendingKeys {
            var key: [Int] = []
            for keyName in names {
                guard let i = columns.firstIndex(where: { $0.name.lowercased() == keyName.lowercased() }) else {
                    throw QueryError(.unknownColumn, "unknown column '\(keyName)' in key of table '\(name)'", at: keyLocation)
                }
                key.append(i)
            }
            uniqueKeys.append(key)
        }
        return CreateTable(name: name, ifNotExists: ifNotExists, columns: columns, uniqueKeys: uniqueKeys, location: location)
    }

    mutating func skipConstraintTail() throws(QueryError) {
        while !current.isSymbol(",") && !current.isSymbol(")") {
            if current.kind == .end { throw unexpected("expected ')'") }
            if current.isSymbol("(") { try skipParenthesized() } else { _ = advance() }
        }
    }

    mutating func parseInsert(_ location: SourceLocation) throws(QueryError) -> Insert {
        var orReplace = false
        if accept(keyword: "REPLACE") {
            orReplace = true
        } else {
            try expect(keyword: "INSERT")
            if accept(keyword: "OR") {
                let action = advance()
                guard action.kind == .identifier else { throw unexpected("expected a conflict action") }
                orReplace = action.isKeyword("REPLACE")
            }
        }
        try expect(keyword: "INTO")
        let table = try parseQualifiedName("a table name")
        var columns: [String]?
        if current.isSymbol("(") {
            index += 1
            var names: [String] = []
            repeat { names.append(try parseName("a column name")) } while accept(symbol: ",")
            try expect(symbol: ")")
            columns = names
        }
        var insert = Insert(table: table, orReplace: orReplace, columns: columns, values: nil, select: nil, location: location)
        if accept(keyword: "VALUES") {
            var rows: [[Expression]] = []
            repeat {
                try expect(symbol: "(")
                var row: [Expression] = []
                repeat { row.append(try parseExpression()) } while accept(symbol: ",")
                try expect(symbol: ")")
                rows.append(row)
            } while accept(symbol: ",")
            insert.values = rows
        } else if current.isKeyword("SELECT") {
            insert.select = try parseSelect()
        } else {
            throw unexpected("expected VALUES or SELECT")
        }
        return insert
    }
}
