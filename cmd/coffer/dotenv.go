package main

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/joho/godotenv"
)

// .env files are read by github.com/joho/godotenv, the parser most Go
// programs use: KEY=value and KEY: value, "export KEY=...", comments, single
// and double quotes, values over several lines inside quotes, \n escapes in
// double quotes, and $KEY / ${KEY} expansion to keys set earlier in the file.
//
// godotenv stops at the first syntax error, names no line, and its messages
// quote the file's text (values included). So scanEnv walks the file first,
// statement by statement as godotenv does, to find where each key is and to
// report every syntax problem by line, in words that quote nothing from the
// file; only a file it finds clean is handed to godotenv for the values.
// FuzzScanEnv checks that the two agree on every input.

// envEntry is one KEY=value statement.
type envEntry struct {
	line       int // where the statement starts, counting from 1
	start, end int // the statement's bytes in the file (CRLF read as LF)
	key        string
	// refs are the $NAME references godotenv expands in the value; each
	// becomes the value of NAME set earlier in the file, or nothing.
	refs []string
}

// envProblem is something wrong on a line.
type envProblem struct {
	line int
	msg  string
}

func (p envProblem) String() string { return fmt.Sprintf("line %d: %s", p.line, p.msg) }

// scanEnv finds the statements of a .env file and its syntax problems, all
// of them: after a problem it goes on at the next line (after an
// unterminated quote there is nothing left to read).
func scanEnv(src []byte) ([]envEntry, []envProblem) {
	src = bytes.ReplaceAll(src, []byte("\r\n"), []byte("\n"))
	var (
		entries  []envEntry
		problems []envProblem
	)
	lineAt := func(off int) int { return 1 + bytes.Count(src[:off], []byte("\n")) }
	off := 0
	for {
		start := statementStart(src, off)
		if start < 0 {
			return entries, problems
		}
		line := lineAt(start)
		key, valueStart, bad := scanKey(src, start)
		if bad >= 0 {
			if src[bad] == '\n' {
				problems = append(problems, envProblem{line, "no '=' after the key (want KEY=value)"})
			} else {
				problems = append(problems, envProblem{line, fmt.Sprintf("not a KEY=value line: column %d is not allowed in a key (letters, digits, '_', '.')", columnOf(src, bad))})
			}
			off = nextLine(src, bad)
			continue
		}
		if valueStart < 0 {
			problems = append(problems, envProblem{line, "no '=' after the key (want KEY=value)"})
			return entries, problems
		}
		end, refs, ok := scanValue(src, valueStart)
		if !ok {
			problems = append(problems, envProblem{line, "the quoted value is never closed"})
			return entries, problems
		}
		if key == "" {
			problems = append(problems, envProblem{line, "no key before '=' (want KEY=value)"})
		} else {
			entries = append(entries, envEntry{line: line, start: start, end: end, key: key, refs: refs})
		}
		off = end
	}
}

// statementStart skips blank space and comment lines from off; -1 at the end.
func statementStart(src []byte, off int) int {
	for {
		i := bytes.IndexFunc(src[off:], func(r rune) bool { return !unicode.IsSpace(r) })
		if i < 0 {
			return -1
		}
		off += i
		if src[off] != '#' {
			return off
		}
		j := bytes.IndexByte(src[off:], '\n')
		if j < 0 {
			return -1
		}
		off += j
	}
}

// scanKey reads "export"? KEY, up to '=' or ':'. It returns the key, where
// the value starts (-1 when the file ends first), and the offset of a byte
// no key may hold (-1 if none). Like godotenv it looks at bytes, skips
// spaces inside the name, and takes letters and digits in Latin-1.
func scanKey(src []byte, off int) (key string, valueStart, bad int) {
	// Leading space is trimmed by rune, the name's inner spaces by byte.
	off = len(src) - len(bytes.TrimLeftFunc(src[off:], isEnvSpace))
	rest := src[off:]
	if t, ok := bytes.CutPrefix(rest, []byte("export")); ok && bytes.IndexFunc(t, isEnvSpace) == 0 {
		t = bytes.TrimLeftFunc(t, isEnvSpace)
		off += len(rest) - len(t)
		rest = t
	}
	if len(rest) == 0 {
		return "", -1, -1
	}
	for i, c := range rest {
		r := rune(c)
		switch {
		case isEnvSpace(r):
		case c == '=' || c == ':':
			return strings.TrimRightFunc(string(rest[:i]), unicode.IsSpace), off + i + 1, -1
		case c == '_' || c == '.' || unicode.IsLetter(r) || unicode.IsNumber(r):
		default:
			return "", -1, off + i
		}
	}
	return "", -1, -1
}

// scanValue reads the value starting at off (after the '='): it returns
// where the next statement may start, the value's $NAME references, and
// false for a quote that is never closed.
func scanValue(src []byte, off int) (end int, refs []string, ok bool) {
	off = len(src) - len(bytes.TrimLeftFunc(src[off:], isEnvSpace))
	if off == len(src) {
		return off, nil, true
	}
	if q := src[off]; q == '"' || q == '\'' {
		for i := off + 1; i < len(src); i++ {
			if src[i] == q && src[i-1] != '\\' {
				if q == '"' {
					refs = expansions(src[off+1 : i])
				}
				return i + 1, refs, true
			}
		}
		return 0, nil, false
	}
	end = len(src)
	if i := bytes.IndexAny(src[off:], "\n\r"); i >= 0 {
		end = off + i
	}
	return end, expansions(src[off:end]), true
}

// expandRef is godotenv's pattern for $NAME, ${NAME}, \$ and $( in values.
var expandRef = regexp.MustCompile(`(\\)?(\$)(\()?\{?([A-Z0-9_]+)?\}?`)

// expansions returns the names godotenv expands in raw.
func expansions(raw []byte) []string {
	var names []string
	for _, m := range expandRef.FindAllSubmatch(raw, -1) {
		if len(m[1]) == 0 && len(m[3]) == 0 && len(m[4]) > 0 {
			names = append(names, string(m[4]))
		}
	}
	return names
}

// isEnvSpace is godotenv's space: blank, not a line break.
func isEnvSpace(r rune) bool {
	switch r {
	case '\t', '\v', '\f', '\r', ' ', 0x85, 0xA0:
		return true
	}
	return false
}

func nextLine(src []byte, off int) int {
	if off < len(src) && src[off] == '\n' {
		return off + 1
	}
	if i := bytes.IndexByte(src[off:], '\n'); i >= 0 {
		return off + i + 1
	}
	return len(src)
}

func columnOf(src []byte, off int) int {
	return off - bytes.LastIndexByte(src[:off], '\n')
}

// parseEnv reads a .env file: its statements in order, every problem found
// (syntax, keys set twice, references to nothing) and, when there is none,
// the values as godotenv reads them.
func parseEnv(src []byte) (entries []envEntry, values map[string]string, problems []envProblem) {
	src = bytes.ReplaceAll(src, []byte("\r\n"), []byte("\n"))
	entries, problems = scanEnv(src)
	seen := map[string]int{}
	for _, e := range entries {
		if first, ok := seen[e.key]; ok {
			problems = append(problems, envProblem{e.line, fmt.Sprintf("%s is set again (first on line %d)", e.key, first)})
			continue
		}
		for _, r := range e.refs {
			if _, ok := seen[r]; !ok {
				// The name is not shown: in a value such as pa$SWORD it is
				// a piece of the secret.
				problems = append(problems, envProblem{e.line, fmt.Sprintf("%s: the value has a $NAME reference to no key set on an earlier line, which would read as nothing; put the value in single quotes to keep every $ as it is", e.key)})
				break
			}
		}
		seen[e.key] = e.line
	}
	if len(problems) > 0 {
		return entries, nil, problems
	}
	values, err := unmarshalEnv(src)
	if err != nil {
		// scanEnv and godotenv agree (FuzzScanEnv); should they not, say so
		// without godotenv's message, which quotes the file.
		return entries, nil, []envProblem{{1, "the file is not in .env syntax"}}
	}
	return entries, values, nil
}

// statementValue is the value of e read on its own, for checking a file
// that has problems elsewhere: a $NAME reference reads as nothing.
func statementValue(src []byte, e envEntry) string {
	src = bytes.ReplaceAll(src, []byte("\r\n"), []byte("\n"))
	m, err := unmarshalEnv(src[e.start:e.end])
	if err != nil {
		return ""
	}
	return m[e.key]
}

// formatEnv writes KEY=value so that godotenv reads back exactly value. It
// picks the first form that does: bare (plain characters only), 'single
// quotes' (no ', no carriage return, not ending in a backslash), "double
// quotes" with escapes (not ending in " or a backslash), and bare again for
// anything godotenv leaves alone unquoted. A value none of them carries
// (say, one with a ', a line break and a final ") gives false.
func formatEnv(key, v string) (string, bool) {
	switch {
	case v != "" && strings.Trim(v, plainChars) == "":
		return key + "=" + v, true
	case !strings.ContainsAny(v, "'\r") && !strings.HasSuffix(v, `\`):
		return key + "='" + v + "'", true
	case !strings.HasSuffix(v, `"`) && !strings.HasSuffix(v, `\`):
		return key + `="` + doubleQuoteEscaper.Replace(v) + `"`, true
	case bareOK(v):
		return key + "=" + v, true
	}
	return "", false
}

// plainChars never mean anything special in a bare .env value.
const plainChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-.,:/@+=%~^"

var doubleQuoteEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`, "\r", `\r`, `$`, `\$`)

// bareOK reports whether godotenv reads v back unquoted: nothing it trims,
// no line break, no comment, no $, no opening quote; valid UTF-8.
func bareOK(v string) bool {
	// Unquoted values are read rune by rune: invalid UTF-8 would change.
	if v == "" || !utf8.ValidString(v) || strings.ContainsAny(v, "\n\r$#") || strings.TrimFunc(v, func(r rune) bool { return isEnvSpace(r) || r == '\n' }) != v {
		return false
	}
	return v[0] != '"' && v[0] != '\''
}

// unmarshalEnv is godotenv.UnmarshalBytes, with a panic turned into an error.
func unmarshalEnv(src []byte) (values map[string]string, err error) {
	defer func() {
		if r := recover(); r != nil {
			values, err = nil, fmt.Errorf("godotenv failed")
		}
	}()
	return godotenv.UnmarshalBytes(src)
}
