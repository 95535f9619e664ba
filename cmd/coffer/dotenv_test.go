package main

import (
	"bytes"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/joho/godotenv"
)

// envSeeds are .env texts both fuzz targets start from.
var envSeeds = []string{
	"A=1\nB='two'\nC=\"three\\nlines\"\n",
	"export KEY=value # comment\n# only a comment\nYAML: style\n",
	"MULTI=\"-----BEGIN-----\nabc\n-----END-----\"\n",
	"A=x\nB=${A}y\nC=$A\\$A\n",
	"BAD-KEY=1\n", "NOEQUALS\n", "NOEQUALS", "UNCLOSED='x\n", "export ", "=x\n",
	"A=\"x\" B=2\n", "A='x'junk\n", "A=1\r\nB=2\r\n", "\xc3\xa9=1\n", "A.B=1\n", "A B = 1\n",
}

// FuzzScanEnv: scanEnv finds a problem exactly when godotenv fails (or
// would take a line without '=' as an empty key), and otherwise finds the
// keys godotenv reads, at lines within the file. Neither panics.
func FuzzScanEnv(f *testing.F) {
	for _, s := range envSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		entries, problems := scanEnv(src)
		values, err := godotenv.UnmarshalBytes(src)
		_, emptyKey := values[""]
		if (err != nil || emptyKey) != (len(problems) > 0) {
			t.Fatalf("godotenv: err %v, empty key %v; scanEnv: problems %v", err, emptyKey, problems)
		}
		lines := 1 + bytes.Count(src, []byte("\n"))
		for _, p := range problems {
			if p.line < 1 || p.line > lines {
				t.Errorf("problem on line %d of a %d-line file", p.line, lines)
			}
		}
		if err != nil || emptyKey {
			return
		}
		var keys []string
		for _, e := range entries {
			if e.line < 1 || e.line > lines {
				t.Errorf("%q on line %d of a %d-line file", e.key, e.line, lines)
			}
			if !slices.Contains(keys, e.key) {
				keys = append(keys, e.key)
			}
		}
		slices.Sort(keys)
		if diff := cmp.Diff(slices.Sorted(maps.Keys(values)), keys); diff != "" {
			t.Errorf("keys (-godotenv +scanEnv):\n%s", diff)
		}
	})
}

// FuzzFormatEnv: what export writes, godotenv reads back exactly, or
// export refuses the value.
func FuzzFormatEnv(f *testing.F) {
	for _, v := range []string{"plain", "two words ", "it's", `say "hi"`, "ends\\", "a\nb", "a\r\nb", "$HOME", `\$x`,
		"'quoted'", `"dq"`, "tab\tx", " lead", "#hash", "x #c", "it's \"q\"\n", "\u00a0nbsp", "\x85"} {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, v string) {
		if v == "" || strings.ContainsRune(v, 0) {
			return // coffer stores neither
		}
		line, ok := formatEnv("K", v)
		if !ok {
			return
		}
		got, err := godotenv.Unmarshal(line + "\n")
		if err != nil {
			t.Fatalf("godotenv cannot read %q: %v", line, err)
		}
		if got["K"] != v || len(got) != 1 {
			t.Fatalf("value %q written as %q reads back as %q", v, line, got)
		}
		// The file import reads: the same, through scanEnv too.
		entries, values, problems := parseEnv([]byte(line + "\n"))
		if len(problems) > 0 || len(entries) != 1 || values["K"] != v {
			t.Fatalf("import reads %q as %v %q %v", line, entries, values, problems)
		}
	})
}

// Plain values, quotes and line breaks all make the trip through export.
func TestFormatEnvForms(t *testing.T) {
	for v, want := range map[string]string{
		"sk_live_1.2:3/4@5": "K=sk_live_1.2:3/4@5",
		"two words":         "K='two words'",
		"a\nb":              "K='a\nb'",
		"it's $HOME":        `K="it's \$HOME"`,
		"it's \"q\"":        `K=it's "q"`,
		"back\\":            `K=back\`,
	} {
		got, ok := formatEnv("K", v)
		if !ok || got != want {
			t.Errorf("formatEnv(%q) = %q, %v; want %q", v, got, ok, want)
		}
	}
	if got, ok := formatEnv("K", "it's\n\"q\""); ok {
		t.Errorf("formatEnv accepted a value no form carries: %q", got)
	}
}
