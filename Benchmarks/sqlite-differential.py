#!/usr/bin/env python3
"""Differential test of the SQL engine against SQLite on random data and random queries.

For each seed, makes three small tables with random INTEGER/REAL/TEXT columns (NULLs included) and
random queries (filters, LIKE/IN/BETWEEN, CASE, string and arithmetic functions, GROUP BY with
HAVING, DISTINCT, inner/left/three-way joins, IN/EXISTS/scalar subqueries, UNION/EXCEPT/INTERSECT,
aggregates over empty input), asks python3's sqlite3 for the answers and writes a sqllogictest file
(rowsort, every value listed), which `query-sqllogictest` then runs against swift-query's engine.
Queries whose result columns mix storage classes are left out (SQLite's type affinity decides those).

Usage: Benchmarks/sqlite-differential.py [FIRST-LAST] [QUERIES-PER-SEED]   (default 1-50 80)
Writes /tmp/sqlite-differential/N.test, builds query-sqllogictest (release) and runs it; the last
line is `N passed, N failed`; `--verbose` lines name each failing record (file:line).
"""
import os, subprocess
import random, sqlite3, sys

def generate(seed, nq):
    R = random.Random(seed)
    db = sqlite3.connect(":memory:")
    out = ["hash-threshold 1000000", ""]
    def emit(s): out.append(s)
    tables = {}
    words = ["a", "b", "cc", "dd", "x", "yy", "zeta", "", "A", "B"]
    for t in ["t1", "t2", "t3"]:
        cols = [("k", "INTEGER")] + [(f"c{i}", R.choice(["INTEGER", "INTEGER", "TEXT", "REAL"])) for i in range(R.randint(2, 4))]
        tables[t] = cols
        ddl = f"CREATE TABLE {t}(" + ", ".join(f"{n} {ty}" for n, ty in cols) + ")"
        db.execute(ddl); emit("statement ok"); emit(ddl); emit("")
        for r in range(R.randint(0, 25)):
            vals = []
            for n, ty in cols:
                if n == "k": vals.append(str(R.randint(0, 12)))
                elif R.random() < 0.12: vals.append("NULL")
                elif ty == "INTEGER": vals.append(str(R.randint(-20, 20)))
                elif ty == "REAL": vals.append(str(R.choice([0.5, 1.25, -2.5, 3.0, 10.75, -0.25, 7.5])))
                else: vals.append("'" + R.choice(words) + "'")
            ins = f"INSERT INTO {t} VALUES(" + ", ".join(vals) + ")"
            db.execute(ins); emit("statement ok"); emit(ins); emit("")
    def col(t, types=None):
        cs = [c for c in tables[t] if types is None or c[1] in types]
        return R.choice(cs) if cs else None
    def expr_num(alias, t):
        c = col(t, ["INTEGER", "REAL"])
        e = f"{alias}.{c[0]}"
        r = R.random()
        if r < 0.2: e = f"({e} + {R.randint(-5,5)})"
        elif r < 0.3: e = f"({e} * {R.randint(-3,3)})"
        elif r < 0.35: e = f"abs({e})"
        elif r < 0.4: e = f"coalesce({e}, {R.randint(0,3)})"
        return e
    def pred(alias, t):
        c = col(t)
        e = f"{alias}.{c[0]}"
        r = R.random()
        if c[1] == "TEXT":
            if r < 0.3: return f"{e} = '{R.choice(words)}'"
            if r < 0.5: return f"{e} IS NULL"
            if r < 0.6: return f"{e} LIKE '{R.choice(['a%','%a','_','%'])}'"
            if r < 0.8: return f"{e} IN ('a','b','x')"
            return f"{e} > '{R.choice(words)}'"
        if r < 0.3: return f"{e} > {R.randint(-10,10)}"
        if r < 0.45: return f"{e} BETWEEN {R.randint(-10,0)} AND {R.randint(0,10)}"
        if r < 0.55: return f"{e} IS NOT NULL"
        if r < 0.7: return f"{e} <> {R.randint(-3,3)}"
        if r < 0.8: return f"{e} IN (1, 2, 3, -1)"
        return f"NOT ({e} < {R.randint(-5,5)})"
    def where(alias, t):
        if R.random() < 0.3: return ""
        p = pred(alias, t)
        if R.random() < 0.4: p = f"({p}) {R.choice(['AND','OR'])} ({pred(alias, t)})"
        return " WHERE " + p
    def typech(v):
        if v is None: return None
        if isinstance(v, int): return "I"
        if isinstance(v, float): return "R"
        return "T"
    def fmt(v):
        if v is None: return "NULL"
        if isinstance(v, float): return db.execute("SELECT printf('%.3f', ?)", (v,)).fetchone()[0]  # SQLite's rounding
        if isinstance(v, str): return v if v != "" else "(empty)"
        return str(v)
    def scalar(alias, t):
        c = col(t); e = f"{alias}.{c[0]}"
        r = R.random()
        if c[1] == "TEXT":
            opts = [f"length({e})", f"upper({e})", f"lower({e})", f"{e} || '-'", f"substr({e}, 1, 1)", f"coalesce({e}, 'none')",
                    f"CASE WHEN {e} IS NULL THEN 'n' WHEN {e} > 'b' THEN 'big' ELSE 'small' END", f"nullif({e}, 'a')"]
        else:
            opts = [f"{e} / {R.choice([2,3,-2])}", f"{e} % {R.choice([2,3,5])}", f"{e} * 2 + 1", f"-{e}", f"({e} IS NULL)",
                    f"CASE WHEN {e} > 0 THEN 1 WHEN {e} < 0 THEN -1 ELSE 0 END", f"nullif({e}, 0)", f"ifnull({e}, -99)",
                    f"CAST({e} AS INTEGER)", f"{e} + 0.5", f"{e} = {R.randint(-3,3)}", f"{e} BETWEEN NULL AND 3"]
        return R.choice(opts)
    def query2():
        t = R.choice(list(tables)); t2 = R.choice(list(tables)); kind = R.random()
        if kind < 0.15:
            return f"SELECT a.k, {scalar('a', t)}, {scalar('a', t)} FROM {t} AS a" + where("a", t)
        if kind < 0.3:
            return f"SELECT a.k FROM {t} AS a WHERE a.k IN (SELECT b.k FROM {t2} AS b{where('b', t2).replace(' WHERE ', ' WHERE ') })"
        if kind < 0.4:
            return f"SELECT a.k, a.{col(t)[0]} FROM {t} AS a WHERE {'NOT ' if R.random()<0.5 else ''}EXISTS (SELECT 1 FROM {t2} AS b WHERE b.k = a.k{(' AND ' + pred('b', t2)) if R.random()<0.5 else ''})"
        if kind < 0.5:
            return f"SELECT a.k, (SELECT count(*) FROM {t2} AS b WHERE b.k = a.k) FROM {t} AS a" + where("a", t)
        if kind < 0.62:
            op = R.choice(["UNION", "UNION ALL", "EXCEPT", "INTERSECT"])
            c1 = col(t, ["INTEGER"]); c2 = col(t2, ["INTEGER"])
            return f"SELECT a.{c1[0]} FROM {t} AS a{where('a', t)} {op} SELECT b.{c2[0]} FROM {t2} AS b{where('b', t2)}"
        if kind < 0.72:
            g1 = col(t); g2 = col(t)
            q = f"SELECT a.{g1[0]}, a.{g2[0]}, count(*), max(a.k) FROM {t} AS a{where('a', t)} GROUP BY a.{g1[0]}, a.{g2[0]}"
            if R.random() < 0.5: q += f" HAVING max(a.k) > {R.randint(0,8)} OR count(*) = 1"
            return q
        if kind < 0.8:
            return f"SELECT {scalar('a', t)}, count(*) FROM {t} AS a{where('a', t)} GROUP BY 1"
        if kind < 0.9:
            t3 = R.choice(list(tables))
            return f"SELECT a.k, b.{col(t2)[0]}, c.{col(t3)[0]} FROM {t} AS a JOIN {t2} AS b ON a.k = b.k {R.choice(['JOIN','LEFT JOIN'])} {t3} AS c ON c.k = b.k" + where("a", t)
        return f"SELECT count(*), min(a.{col(t)[0]}), max(a.{col(t)[0]}), sum(a.k), avg(a.k) FROM {t} AS a WHERE a.k > 100"
    def query():
        if R.random() < 0.6: return query2()
        t = R.choice(list(tables)); kind = R.random()
        if kind < 0.3:
            sel = ", ".join(f"a.{c[0]}" for c in R.sample(tables[t], R.randint(1, len(tables[t]))))
            return f"SELECT {sel} FROM {t} AS a" + where("a", t)
        if kind < 0.55:
            g = col(t)
            aggs = []
            for _ in range(R.randint(1, 3)):
                f = R.choice(["count(*)", "count(a.{})".format(col(t)[0]), "sum({})", "min({})", "max({})", "avg({})", "count(DISTINCT a.{})".format(col(t)[0])])
                if "{}" in f: f = f.format(expr_num("a", t))
                aggs.append(f)
            q = f"SELECT a.{g[0]}, {', '.join(aggs)} FROM {t} AS a" + where("a", t) + f" GROUP BY a.{g[0]}"
            if R.random() < 0.4: q += f" HAVING count(*) > {R.randint(0,2)}"
            return q
        if kind < 0.8:
            t2 = R.choice(list(tables))
            jt = R.choice(["JOIN", "LEFT JOIN", "JOIN"])
            sel = f"a.k, a.{col(t)[0]}, b.{col(t2)[0]}"
            q = f"SELECT {sel} FROM {t} AS a {jt} {t2} AS b ON a.k = b.k" + where("a", t)
            return q
        if kind < 0.9:
            e = expr_num("a", t)
            return f"SELECT count(*), sum({e}), min({e}), max({e}) FROM {t} AS a" + where("a", t)
        c = col(t)
        return f"SELECT DISTINCT a.{c[0]} FROM {t} AS a" + where("a", t)
    n = 0
    while n < nq:
        q = query()
        try:
            rows = db.execute(q).fetchall()
        except Exception as e:
            continue
        # column types from first non-null per column
        ncol = len(db.execute(q).description)
        types = []
        for i in range(ncol):
            tt = None
            for r in rows:
                tt = typech(r[i])
                if tt: break
            types.append(tt or "T")
        # skip mixed-type columns (affinity quirks)
        mixed = any(len({typech(r[i]) for r in rows if r[i] is not None}) > 1 for i in range(ncol))
        if mixed: continue
        emit(f"query {''.join(types)} rowsort"); emit(q); emit("----")
        vals = sorted([[fmt(v) for v in r] for r in rows])
        for r in vals:
            for v in r: emit(v)
        emit(""); n += 1
    return "\n".join(out) + "\n"


def main():
    first, last = 1, 50
    if len(sys.argv) > 1:
        a, _, b = sys.argv[1].partition("-")
        first, last = int(a), int(b or a)
    nq = int(sys.argv[2]) if len(sys.argv) > 2 else 80
    out_dir = "/tmp/sqlite-differential"
    os.makedirs(out_dir, exist_ok=True)
    for seed in range(first, last + 1):
        with open(os.path.join(out_dir, f"{seed}.test"), "w") as f:
            f.write(generate(seed, nq))
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
    subprocess.run(["swift", "build", "-c", "release", "--product", "query-sqllogictest"], cwd=root, check=True)
    result = subprocess.run([os.path.join(root, ".build/release/query-sqllogictest"), "--verbose", out_dir], cwd=root)
    sys.exit(result.returncode)

if __name__ == "__main__":
    main()
