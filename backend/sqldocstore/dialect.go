package sqldocstore

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Dialect names the SQL database behind a collection.
type Dialect int

const (
	// SQLite is SQLite 3 through modernc.org/sqlite (driver name "sqlite").
	SQLite Dialect = iota + 1
	// PostgreSQL is PostgreSQL through github.com/jackc/pgx/v5/stdlib
	// (driver name "pgx").
	PostgreSQL
)

// String returns the dialect's name.
func (d Dialect) String() string {
	switch d {
	case SQLite:
		return "SQLite"
	case PostgreSQL:
		return "PostgreSQL"
	}
	return "Dialect(" + strconv.Itoa(int(d)) + ")"
}

// The table has three columns: the key as text, the revision (NULL for a
// document written without a revision field) and the document as JSON.
const (
	colID  = "id"
	colRev = "revision"
	colDoc = "document"
)

var identRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,62}$`)

func quoteIdent(s string) string { return `"` + s + `"` }

func quoteLit(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// createTableSQL returns the statement that creates the table if it is
// missing. The key column sorts bytewise on PostgreSQL too (COLLATE "C"),
// like Go strings.
func (d Dialect) createTableSQL(table string) string {
	t := quoteIdent(table)
	if d == PostgreSQL {
		return "CREATE TABLE IF NOT EXISTS " + t + ` (id text COLLATE "C" NOT NULL PRIMARY KEY, revision bigint, document jsonb NOT NULL)`
	}
	return "CREATE TABLE IF NOT EXISTS " + t + " (id TEXT NOT NULL PRIMARY KEY, revision INTEGER, document TEXT NOT NULL CHECK (json_valid(document))) WITHOUT ROWID"
}

// createIndexSQL returns the statement that creates an index on the
// expressions queries use for the given top-level fields, so a query with
// equality filters on the leading fields and a range filter and OrderBy on
// the next one reads the index in order.
func (d Dialect) createIndexSQL(table string, fields []string) string {
	name := table
	for _, f := range fields {
		name += "_" + f
	}
	name += "_idx"
	if !identRE.MatchString(name) {
		// Too long or odd: fall back to a stable short name.
		name = fmt.Sprintf("%.40s_%08x_idx", table, fnv32(strings.Join(fields, "\x00")))
	}
	var cols []string
	for _, f := range fields {
		fp := []string{escapeKey(f)}
		if d == PostgreSQL {
			cols = append(cols, "("+d.scalarExpr(fp)+`) COLLATE "C"`)
		} else {
			cols = append(cols, d.scalarExpr(fp))
		}
	}
	return "CREATE INDEX IF NOT EXISTS " + quoteIdent(name) + " ON " + quoteIdent(table) + " (" + strings.Join(cols, ", ") + ")"
}

func fnv32(s string) uint32 {
	h := uint32(2166136261)
	for i := 0; i < len(s); i++ {
		h ^= uint32(s[i])
		h *= 16777619
	}
	return h
}

// pathOK reports whether SQL can address the field path (whose keys are
// already escaped). SQLite's JSON path syntax has no escape for a double
// quote inside a quoted label, so such paths are handled in Go. On
// PostgreSQL keys become string literals; a backslash would mean something
// else on a server running with standard_conforming_strings off, so those
// keys are handled in Go too.
func (d Dialect) pathOK(fp []string) bool {
	if d == PostgreSQL {
		return !slices.ContainsFunc(fp, func(k string) bool { return strings.ContainsRune(k, '\\') })
	}
	for _, k := range fp {
		if strings.ContainsAny(k, "\"\\") || strings.ContainsFunc(k, func(r rune) bool { return r < 0x20 }) {
			return false
		}
	}
	return true
}

func sqlitePath(fp []string) string {
	var b strings.Builder
	b.WriteString("$")
	for _, k := range fp {
		b.WriteString(`."`)
		b.WriteString(k)
		b.WriteString(`"`)
	}
	return quoteLit(b.String())
}

// pgChain returns document->'a'->'b' (jsonb) or, with text set,
// document->'a'->>'b' (text). The text forms of -> never index into arrays,
// so a path only follows objects, as in memdocstore.
func pgChain(fp []string, text bool) string {
	var b strings.Builder
	b.WriteString(colDoc)
	for i, k := range fp {
		if text && i == len(fp)-1 {
			b.WriteString("->>")
		} else {
			b.WriteString("->")
		}
		b.WriteString(quoteLit(k))
	}
	return b.String()
}

// jsonExpr is the JSON value at fp, or NULL when absent.
func (d Dialect) jsonExpr(fp []string) string {
	if d == PostgreSQL {
		return pgChain(fp, false)
	}
	return colDoc + " -> " + sqlitePath(fp)
}

// typeExpr is the JSON type of the value at fp, or NULL when absent.
func (d Dialect) typeExpr(fp []string) string {
	if d == PostgreSQL {
		return "jsonb_typeof(" + pgChain(fp, false) + ")"
	}
	return "json_type(" + colDoc + ", " + sqlitePath(fp) + ")"
}

// scalarExpr is the SQL value at fp: on SQLite the number or text, on
// PostgreSQL the text.
func (d Dialect) scalarExpr(fp []string) string {
	if d == PostgreSQL {
		return pgChain(fp, true)
	}
	return "json_extract(" + colDoc + ", " + sqlitePath(fp) + ")"
}

func (d Dialect) isString(fp []string) string {
	if d == PostgreSQL {
		return d.typeExpr(fp) + " = 'string'"
	}
	return d.typeExpr(fp) + " = 'text'"
}

func (d Dialect) isNumber(fp []string) string {
	if d == PostgreSQL {
		return d.typeExpr(fp) + " = 'number'"
	}
	return d.typeExpr(fp) + " IN ('integer', 'real')"
}

func (d Dialect) isPresent(fp []string) string {
	return "COALESCE(" + d.typeExpr(fp) + ", 'null') <> 'null'"
}

// stringExpr compares bytewise on both dialects, as Go does.
func (d Dialect) stringExpr(fp []string) string {
	if d == PostgreSQL {
		return "(" + d.scalarExpr(fp) + `) COLLATE "C"`
	}
	return d.scalarExpr(fp)
}

// sqlBuilder collects SQL text and its arguments.
type sqlBuilder struct {
	d    Dialect
	b    strings.Builder
	args []any
}

func (b *sqlBuilder) w(s ...string) {
	for _, x := range s {
		b.b.WriteString(x)
	}
}

// arg adds an argument and returns its placeholder.
func (b *sqlBuilder) arg(v any) string {
	b.args = append(b.args, v)
	if b.d == PostgreSQL {
		return "$" + strconv.Itoa(len(b.args))
	}
	return "?"
}

// jsonArg adds JSON text as an argument typed jsonb on PostgreSQL. The
// text is passed as text and cast, so the driver never reinterprets it.
func (b *sqlBuilder) jsonArg(text string) string {
	p := b.arg(text)
	if b.d == PostgreSQL {
		return "CAST(" + p + "::text AS jsonb)"
	}
	return p
}

func (b *sqlBuilder) String() string { return b.b.String() }

// plainText is the SQLite condition that e, a json_extract of one path, is
// text that cannot be an array's or an object's JSON text, so the value is
// a string: json_extract answers the text of strings and the JSON text of
// arrays and objects alike.
func plainText(e string) string {
	return "typeof(" + e + ") = 'text' AND substr(" + e + ", 1, 1) NOT IN ('{', '[')"
}

// compare writes a condition that holds exactly when the value at fp has
// the same kind as v (string, number, bool or time) and compares to it
// with op (=, <, <=, >, >=). It reports false when SQL cannot state the
// comparison exactly; the caller then filters in Go.
func (b *sqlBuilder) compare(fp []string, op string, v any) bool {
	d := b.d
	switch v := v.(type) {
	case string:
		if !plainString(v) {
			return false
		}
		b.compareString(fp, op, v)
	case int64:
		if d == PostgreSQL {
			b.w("(", d.isNumber(fp), " AND ", d.jsonExpr(fp), " ", op, " ", b.jsonArg(strconv.FormatInt(v, 10)), ")")
		} else {
			b.w("(", d.isNumber(fp), " AND ", d.scalarExpr(fp), " ", op, " ", b.arg(v), ")")
		}
	case float64:
		if d == PostgreSQL {
			b.w("(", d.isNumber(fp), " AND ", d.jsonExpr(fp), " ", op, " ", b.jsonArg(formatFloat(v)), ")")
		} else {
			b.w("(", d.isNumber(fp), " AND ", d.scalarExpr(fp), " ", op, " ", b.arg(v), ")")
		}
	case bool:
		if op != "=" {
			return false
		}
		if d == PostgreSQL {
			b.w("(", d.jsonExpr(fp), " = '", strconv.FormatBool(v), "'::jsonb)")
		} else {
			b.w("(", d.typeExpr(fp), " = '", strconv.FormatBool(v), "')")
		}
	case time.Time:
		b.compareString(append(fp[:len(fp):len(fp)], "$t"), op, formatTime(v))
	default:
		return false
	}
	return true
}

// compareString writes the condition that the value at fp is a string
// and compares to v with op. On SQLite the type is first judged from the
// value itself, json_extract(document, path): text that cannot be an
// array's or an object's is a string. That expression is what an index on
// the field holds, so when SQLite reads such an index it takes the value
// from there and this condition never parses the document; only text
// starting with "{" or "[" asks json_type.
func (b *sqlBuilder) compareString(fp []string, op, v string) {
	d := b.d
	if d == PostgreSQL {
		b.w("(", d.isString(fp), " AND ", d.stringExpr(fp), " ", op, " ", b.arg(v), ")")
		return
	}
	e := d.scalarExpr(fp)
	b.w("(typeof(", e, ") = 'text' AND ", e, " ", op, " ", b.arg(v),
		" AND (substr(", e, ", 1, 1) NOT IN ('{', '[') OR ", d.isString(fp), "))")
}

// orderExprs returns the ORDER BY terms for a top-level field. kind is the
// kind every matching document is known to hold in that field (from the
// query's filters), or "" when unknown.
func (d Dialect) orderExprs(field, kind string) []string {
	fp := []string{escapeKey(field)}
	if d == SQLite {
		// SQLite orders NULL, then numbers, then text; a time is an object
		// whose JSON text starts the same for every time, then holds the
		// fixed-width UTC instant, so times sort among themselves in order.
		return []string{d.scalarExpr(fp)}
	}
	switch kind {
	case "string":
		return []string{d.stringExpr(fp)}
	case "number", "bool":
		return []string{d.jsonExpr(fp)}
	case "time":
		return []string{d.stringExpr(append(fp, "$t"))}
	}
	// Unknown: group by JSON type, then order strings (and the text of
	// objects, which orders times) bytewise, then numbers and booleans as
	// jsonb orders them.
	return []string{
		d.typeExpr(fp),
		"(CASE WHEN " + d.typeExpr(fp) + " IN ('string', 'object') THEN " + d.jsonExpr(fp) + ` #>> '{}' END) COLLATE "C"`,
		d.jsonExpr(fp),
	}
}
