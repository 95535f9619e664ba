package sqldocstore

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"maps"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"gocloud.dev/docstore/driver"
	"gocloud.dev/gcerrors"
)

// selection says which columns a read fetches and how it turns them back
// into a document: the whole document, or only some field paths, picked in
// SQL when the dialect can address them (so big fields never leave the
// database) and in Go otherwise.
type selection struct {
	c       *collection
	paths   [][]string // nil: the whole document
	inSQL   bool       // paths are picked in SQL, into one JSON array
	flat    bool       // every path is a top-level field
	withRev bool       // set the revision field in the result
	// byColumn (SQLite): every path is the key field or an indexed
	// top-level field, so each is read as columns of its own, the key from
	// the id column and the others from the index SQLite reads, and the
	// document is not parsed at all (see columns).
	byColumn bool
	// scanColumns' destinations, reused row after row.
	dest  []any
	rev   sql.NullInt64
	strs  []sql.NullString
	texts []sql.RawBytes
}

func newSelection(c *collection, fps [][]string, needFull bool) *selection {
	s := &selection{c: c}
	if len(fps) == 0 {
		s.withRev = true
		return s
	}
	// Results always carry their key, as in memdocstore.
	if c.keyField != "" && !slices.ContainsFunc(fps, func(fp []string) bool { return driver.FieldPathEqualsField(fp, c.keyField) }) {
		s.paths = append(s.paths, []string{c.keyField})
	}
	for _, fp := range fps {
		if driver.FieldPathEqualsField(fp, c.revField) {
			s.withRev = true
			continue
		}
		s.paths = append(s.paths, fp)
	}
	s.inSQL = !needFull
	s.flat = true
	s.byColumn = c.d == SQLite
	for _, fp := range s.paths {
		if !c.d.pathOK(escapePath(fp)) {
			s.inSQL = false
		}
		if len(fp) > 1 {
			s.flat = false
		}
		if len(fp) > 1 || !c.isKeyField(fp) && !c.indexed[fp[0]] {
			s.byColumn = false
		}
	}
	s.byColumn = s.byColumn && s.inSQL
	return s
}

// isKeyField reports whether fp is the key field, whose value is the id
// column's.
func (c *collection) isKeyField(fp []string) bool {
	return c.keyField != "" && driver.FieldPathEqualsField(fp, c.keyField)
}

func escapePath(fp []string) []string {
	out := make([]string, len(fp))
	for i, k := range fp {
		out[i] = escapeKey(k)
	}
	return out
}

// columns writes the selected columns after the revision column.
func (s *selection) columns(b *sqlBuilder) {
	if s.paths == nil || !s.inSQL {
		b.w(", ", colDoc)
		return
	}
	if s.byColumn {
		// The key is the id column. An indexed field F is E =
		// json_extract(document, '$."F"'), which SQLite reads from the
		// index instead of the document when it reads that index: a
		// string's text, a number, or NULL, but also the JSON text of an
		// array or an object. So a second column, NULL when E is text that
		// cannot be an array's or an object's, gives the value as JSON
		// text (document -> '$."F"') in every other case; only then is the
		// document parsed.
		for _, fp := range s.paths {
			if s.c.isKeyField(fp) {
				b.w(", ", colID)
				continue
			}
			e, path := s.c.d.scalarExpr(fp), sqlitePath(escapePath(fp))
			b.w(", ", e, ", CASE WHEN ", plainText(e), " THEN NULL ELSE ", colDoc, " -> ", path, " END")
		}
		return
	}
	// One JSON array of the picked values per row: one column to scan and
	// one text to parse, however many paths.
	if s.c.d == SQLite && len(s.paths) > 1 {
		// json_extract with several paths answers that array itself,
		// parsing the document once for all of them; one -> per path
		// costs a lookup of the parsed document each.
		b.w(", json_extract(", colDoc)
		for _, fp := range s.paths {
			b.w(", ", sqlitePath(escapePath(fp)))
		}
		b.w(")")
		return
	}
	if s.c.d == PostgreSQL {
		b.w(", jsonb_build_array(")
	} else {
		b.w(", json_array(")
	}
	for i, fp := range s.paths {
		if i > 0 {
			b.w(", ")
		}
		b.w(s.c.d.jsonExpr(escapePath(fp)))
	}
	b.w(")")
}

// row is one row read: the revision, and the document tree (m) or, when
// the selection was picked in SQL, the values of its paths (vals; nil for
// a missing field).
type row struct {
	m    map[string]any
	vals []any
	rev  sql.NullInt64
}

// scan reads one row. The text is parsed where the driver holds it
// (sql.RawBytes): the tree copies what it keeps.
func (s *selection) scan(rows *sql.Rows) (row, error) {
	if s.byColumn {
		return s.scanColumns(rows)
	}
	var r row
	var text sql.RawBytes
	if err := rows.Scan(&r.rev, &text); err != nil {
		return row{}, err
	}
	if s.paths == nil || !s.inSQL {
		m, err := parseDoc(text)
		r.m = m
		return r, err
	}
	v, err := parseValueHint(text, len(s.paths))
	if err != nil {
		return row{}, err
	}
	vals, ok := v.([]any)
	if !ok || len(vals) != len(s.paths) {
		return row{}, corrupt("projection is not an array of %d values", len(s.paths))
	}
	r.vals = vals
	return r, nil
}

// scanColumns reads a row of a byColumn selection: per path, the id
// column, or an indexed field's text (a string, or NULL when missing) and
// its JSON text when it is not a string.
func (s *selection) scanColumns(rows *sql.Rows) (row, error) {
	if s.dest == nil {
		s.strs = make([]sql.NullString, len(s.paths))
		s.texts = make([]sql.RawBytes, len(s.paths))
		s.dest = append(make([]any, 0, 1+2*len(s.paths)), &s.rev)
		for i, fp := range s.paths {
			s.dest = append(s.dest, &s.strs[i])
			if !s.c.isKeyField(fp) {
				s.dest = append(s.dest, &s.texts[i])
			}
		}
	}
	if err := rows.Scan(s.dest...); err != nil {
		return row{}, err
	}
	r := row{vals: make([]any, len(s.paths)), rev: s.rev}
	for i := range s.paths {
		switch {
		case s.texts[i] != nil:
			v, err := parseValue(s.texts[i])
			if err != nil {
				return row{}, err
			}
			r.vals[i] = v
		case s.strs[i].Valid:
			r.vals[i] = s.strs[i].String
		}
	}
	return r, nil
}

// decode projects the tree when SQL did not, adds the revision, and
// decodes into doc.
//
// Decoding into a map[string]any sets each top-level field of the tree in
// it, which is all docstore's reflective decoding does for such a target
// (our decoder hands over the tree's own values), so for maps decode does
// that directly, without reflection.
func (s *selection) decode(r row, doc driver.Document) error {
	dst, toMap := doc.Origin.(map[string]any)
	m := r.m
	switch {
	case r.vals != nil && toMap && s.flat:
		for i, fp := range s.paths {
			// A missing field and a JSON null both come back as null:
			// skip it, as a full read would.
			if v := r.vals[i]; v != nil {
				dst[fp[0]] = v
			}
		}
		if s.withRev && r.rev.Valid {
			dst[s.c.revField] = r.rev.Int64
		}
		return nil
	case r.vals != nil:
		m = map[string]any{}
		for i, fp := range s.paths {
			if v := r.vals[i]; v != nil {
				setPath(m, fp, v)
			}
		}
	case s.paths != nil:
		p := map[string]any{}
		for _, fp := range s.paths {
			if v := getPath(m, fp); v != nil {
				setPath(p, fp, v)
			}
		}
		m = p
	}
	if s.withRev && r.rev.Valid {
		m[s.c.revField] = r.rev.Int64
	}
	if toMap {
		maps.Copy(dst, m)
		return nil
	}
	return doc.Decode(decoder{m})
}

// getPath returns the value at fp, following maps only, or nil.
func getPath(m map[string]any, fp []string) any {
	var v any = m
	for _, k := range fp {
		mm, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = mm[k]
	}
	return v
}

// setPath sets the value at fp, making maps on the way.
func setPath(m map[string]any, fp []string, v any) {
	for _, k := range fp[:len(fp)-1] {
		next, ok := m[k].(map[string]any)
		if !ok {
			next = map[string]any{}
			m[k] = next
		}
		m = next
	}
	m[fp[len(fp)-1]] = v
}

// filter is a query filter with its operand encoded like stored values.
type filter struct {
	path []string
	op   string
	val  any // for in and not-in, a []any
}

func (f filter) String() string {
	return fmt.Sprintf("%s %s %v", strings.Join(f.path, "."), f.op, f.val)
}

// queryPlan is a query turned into SQL, plus what Go must still do.
type queryPlan struct {
	sql       string
	args      []any
	sel       *selection
	goFilters []filter
	goSort    bool
	orderBy   string
	asc       bool
	offset    int // applied in Go when goFilters or goSort
	limit     int
}

func (c *collection) planQuery(q *driver.Query) (*queryPlan, error) {
	p := &queryPlan{orderBy: q.OrderByField, asc: q.OrderAscending}
	b := sqlBuilder{d: c.d}
	var where []string
	orderKinds := map[string]bool{}
	for _, f := range q.Filters {
		v, err := encodeValue(f.Value)
		if err != nil {
			return nil, err
		}
		if err := checkOperand(v); err != nil {
			return nil, err
		}
		fl := filter{path: f.FieldPath, op: f.Op, val: v}
		if f.Op != "not-in" && driver.FieldPathEqualsField(f.FieldPath, q.OrderByField) {
			for _, x := range operands(fl) {
				orderKinds[kindOf(x)] = true
			}
		}
		cond, ok := c.filterSQL(&b, fl)
		if !ok {
			p.goFilters = append(p.goFilters, fl)
			continue
		}
		where = append(where, cond)
	}
	if q.OrderByField != "" && !c.d.pathOK([]string{escapeKey(q.OrderByField)}) {
		p.goSort = true
	}
	inGo := len(p.goFilters) > 0 || p.goSort
	p.sel = newSelection(c, q.FieldPaths, inGo)

	var s sqlBuilder
	s.d = c.d
	s.w("SELECT ", colRev)
	p.sel.columns(&s)
	s.w(" FROM ", quoteIdent(c.table))
	if len(where) > 0 {
		s.w(" WHERE ", strings.Join(where, " AND "))
	}
	if q.OrderByField != "" && !p.goSort {
		kind := ""
		if len(orderKinds) == 1 {
			for k := range orderKinds {
				kind = k
			}
		}
		dir := " DESC"
		if q.OrderAscending {
			dir = " ASC"
		}
		terms := c.d.orderExprs(q.OrderByField, kind)
		for i := range terms {
			terms[i] += dir
		}
		s.w(" ORDER BY ", strings.Join(terms, ", "))
	}
	if inGo {
		p.offset, p.limit = q.Offset, q.Limit
	} else {
		switch {
		case q.Limit > 0:
			s.w(" LIMIT ", strconv.Itoa(q.Limit))
		case q.Offset > 0 && c.d == SQLite:
			s.w(" LIMIT -1") // SQLite needs a LIMIT before OFFSET
		}
		if q.Offset > 0 {
			s.w(" OFFSET ", strconv.Itoa(q.Offset))
		}
	}
	p.sql = s.String()
	p.args = b.args
	return p, nil
}

// checkOperand refuses filter operands no store can compare.
func checkOperand(v any) error {
	switch v := v.(type) {
	case float64:
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return newError(gcerrors.InvalidArgument, nil, "filter value %v is not a finite number", v)
		}
	case []any:
		for _, e := range v {
			if err := checkOperand(e); err != nil {
				return err
			}
		}
	}
	return nil
}

func operands(f filter) []any {
	if f.op == "in" || f.op == "not-in" {
		l, _ := f.val.([]any)
		return l
	}
	return []any{f.val}
}

func kindOf(v any) string {
	switch v.(type) {
	case string:
		return "string"
	case int64, uint64, float64:
		return "number"
	case bool:
		return "bool"
	case time.Time:
		return "time"
	}
	return fmt.Sprintf("%T", v)
}

// sqlOperand reports whether SQL can compare with v exactly.
func (c *collection) sqlOperand(v any, op string) bool {
	switch v := v.(type) {
	case string:
		return plainString(v)
	case int64, float64, time.Time:
		return true
	case bool:
		return op == "="
	}
	return false // uint64 above MaxInt64 (SQLite cannot bind it), others
}

// filterSQL writes the SQL condition for f into a fresh builder sharing
// b's arguments, or reports false when f must be evaluated in Go.
func (c *collection) filterSQL(b *sqlBuilder, f filter) (string, bool) {
	fp := escapePath(f.path)
	if !c.d.pathOK(fp) {
		return "", false
	}
	ops := operands(f)
	op := f.op
	if op == "in" || op == "not-in" {
		op = "="
	}
	for _, v := range ops {
		if !c.sqlOperand(v, op) {
			return "", false
		}
	}
	sub := sqlBuilder{d: b.d, args: b.args}
	switch f.op {
	case "in", "not-in":
		if f.op == "not-in" {
			// IS NOT TRUE, not NOT: a comparison on a path that does not
			// exist in this document (a time's "$t" under a string) is NULL.
			sub.w("(", c.d.isPresent(fp), " AND ")
		}
		sub.w("(")
		if len(ops) == 0 {
			sub.w("1 = 0")
		}
		for i, v := range ops {
			if i > 0 {
				sub.w(" OR ")
			}
			sub.compare(fp, "=", v)
		}
		sub.w(")")
		if f.op == "not-in" {
			sub.w(" IS NOT TRUE)")
		}
	default:
		sub.compare(fp, f.op, f.val)
	}
	b.args = sub.args
	return sub.String(), true
}

// RunGetQuery implements driver.Collection.RunGetQuery.
func (c *collection) RunGetQuery(ctx context.Context, q *driver.Query) (driver.DocumentIterator, error) {
	p, err := c.planQuery(q)
	if err != nil {
		return nil, err
	}
	if q.BeforeQuery != nil {
		if err := q.BeforeQuery(func(any) bool { return false }); err != nil {
			return nil, err
		}
	}
	rows, err := c.stmts.QueryContext(ctx, p.sql, p.args...)
	if err != nil {
		return nil, err
	}
	it := &docIterator{rows: rows, plan: p}
	if p.goSort {
		if err := it.loadAndSort(); err != nil {
			return nil, err
		}
	}
	return it, nil
}

// QueryPlan implements driver.Collection.QueryPlan: the SQL that runs, and
// what is done in Go after it.
func (c *collection) QueryPlan(q *driver.Query) (string, error) {
	p, err := c.planQuery(q)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	b.WriteString(p.sql)
	if len(p.goFilters) > 0 {
		fmt.Fprintf(&b, "; then filter in Go: %v", p.goFilters)
	}
	if p.goSort {
		fmt.Fprintf(&b, "; then sort in Go by %s", p.orderBy)
	}
	if p.offset > 0 || p.limit > 0 {
		fmt.Fprintf(&b, "; then offset %d limit %d in Go", p.offset, p.limit)
	}
	return b.String(), nil
}

type docIterator struct {
	rows     *sql.Rows
	buf      []row // rows sorted in Go
	sorted   bool
	plan     *queryPlan
	skipped  int
	returned int
	err      error
}

func (it *docIterator) loadAndSort() error {
	defer it.rows.Close()
	for it.rows.Next() {
		r, err := it.plan.sel.scan(it.rows)
		if err != nil {
			return err
		}
		it.buf = append(it.buf, r)
	}
	if err := it.rows.Err(); err != nil {
		return err
	}
	f := it.plan.orderBy
	slices.SortStableFunc(it.buf, func(a, b row) int {
		c := compareAny(a.m[f], b.m[f])
		if !it.plan.asc {
			c = -c
		}
		return c
	})
	it.sorted = true
	return nil
}

func (it *docIterator) nextRow() (row, bool, error) {
	if it.sorted {
		if len(it.buf) == 0 {
			return row{}, false, nil
		}
		r := it.buf[0]
		it.buf = it.buf[1:]
		return r, true, nil
	}
	if !it.rows.Next() {
		return row{}, false, it.rows.Err()
	}
	r, err := it.plan.sel.scan(it.rows)
	return r, err == nil, err
}

// Next implements driver.DocumentIterator.Next.
func (it *docIterator) Next(ctx context.Context, doc driver.Document) error {
	if it.err != nil {
		return it.err
	}
	p := it.plan
	for {
		if err := ctx.Err(); err != nil {
			return it.fail(err)
		}
		if p.limit > 0 && it.returned >= p.limit {
			return it.fail(io.EOF)
		}
		r, ok, err := it.nextRow()
		if err != nil {
			return it.fail(err)
		}
		if !ok {
			return it.fail(io.EOF)
		}
		if !matchAll(p.goFilters, r.m) {
			continue
		}
		if it.skipped < p.offset {
			it.skipped++
			continue
		}
		it.returned++
		return p.sel.decode(r, doc)
	}
}

func (it *docIterator) fail(err error) error {
	it.err = err
	it.rows.Close()
	return err
}

// Stop implements driver.DocumentIterator.Stop.
func (it *docIterator) Stop() {
	it.err = io.EOF
	it.rows.Close()
}

// As implements driver.DocumentIterator.As; it exposes nothing.
func (it *docIterator) As(any) bool { return false }

func matchAll(fs []filter, m map[string]any) bool {
	for _, f := range fs {
		if !matchFilter(f, m) {
			return false
		}
	}
	return true
}

// matchFilter evaluates a filter in Go with the same meaning as the SQL:
// a missing or null field never matches; otherwise values compare only
// with values of their own kind.
func matchFilter(f filter, m map[string]any) bool {
	v := getPath(m, f.path)
	if v == nil {
		return false
	}
	switch f.op {
	case "in", "not-in":
		found := false
		for _, e := range operands(f) {
			if c, ok := compareSameKind(v, e); ok && c == 0 {
				found = true
				break
			}
		}
		return found == (f.op == "in")
	}
	c, ok := compareSameKind(v, f.val)
	if !ok {
		return false
	}
	switch f.op {
	case "=":
		return c == 0
	case "<":
		return c < 0
	case "<=":
		return c <= 0
	case ">":
		return c > 0
	case ">=":
		return c >= 0
	}
	return false
}

func isNumber(v any) bool {
	switch v.(type) {
	case int64, uint64, float64:
		return true
	}
	return false
}

// compareSameKind compares two values of the same kind; ok is false when
// their kinds differ or they have no order (NaN).
func compareSameKind(a, b any) (int, bool) {
	switch a := a.(type) {
	case string:
		if b, ok := b.(string); ok {
			return strings.Compare(a, b), true
		}
	case bool:
		if b, ok := b.(bool); ok {
			if a == b {
				return 0, true
			}
			if !a {
				return -1, true
			}
			return 1, true
		}
	case time.Time:
		if b, ok := b.(time.Time); ok {
			return a.Compare(b), true
		}
	}
	if isNumber(a) && isNumber(b) {
		if fa, ok := a.(float64); ok && math.IsNaN(fa) {
			return 0, false
		}
		if fb, ok := b.(float64); ok && math.IsNaN(fb) {
			return 0, false
		}
		c, err := driver.CompareNumbers(reflect.ValueOf(a), reflect.ValueOf(b))
		return c, err == nil
	}
	return 0, false
}

// compareAny is a total order for sorting in Go: values group by kind,
// then compare within it.
func compareAny(a, b any) int {
	rank := func(v any) int {
		switch v.(type) {
		case nil:
			return 0
		case int64, uint64, float64:
			return 1
		case string:
			return 2
		case bool:
			return 3
		case time.Time:
			return 4
		}
		return 5
	}
	if ra, rb := rank(a), rank(b); ra != rb {
		return ra - rb
	}
	c, _ := compareSameKind(a, b)
	return c
}
