package main

import "strings"

// mutation breaks one claimed property in a few lines.
type mutation struct {
	Name  string // short, unique; -run selects by it
	Claim string // the claim, as SECURITY.md or README words it
	Break string // what the mutation does, in words
	Edits []edit
	// Tests are the tests cited for the claim; each must fail under the
	// mutation for it to count as CAUGHT.
	Tests []testRef
	Quick bool // part of the CI subset (-quick)
}

// edit replaces Old, which must occur exactly once in File (a slash path
// from the module root), with New.
type edit struct{ File, Old, New string }

// testRef names tests by package (a slash path from the module root, "."
// for the root package) and a go test -run pattern.
type testRef struct{ Pkg, Run string }

func (t testRef) String() string {
	name := strings.NewReplacer("^", "", "$", "").Replace(t.Run)
	if t.Pkg == "." {
		return name
	}
	return t.Pkg + "." + name
}

// Tests cited more than once.
var (
	conformance    = func(sub string) testRef { return testRef{".", "^TestConformance$/^" + sub + "$"} }
	canaryTest     = conformance("Canary")
	createRules    = conformance("CreateRules")
	updateRules    = conformance("UpdateRules")
	copied         = func(part string) testRef { return testRef{".", "^TestCopiedSealedValues$/^" + part + "$"} }
	tamper         = testRef{"crypto", "^TestTamper$"}
	faultsTest     = testRef{".", "^TestFaults$"}
	failedCall     = testRef{".", "^TestFailedCallLeavesEveryRecordOpen$"}
	soak           = testRef{".", "^TestSoak$"}
	rootFuzzOpen   = testRef{".", "^FuzzOpen$"}
	sqliteSettings = testRef{"backend/sqldocstore", "^TestOpenSQLiteSettings$"}
)

// adLine is the line of crypto/envelope.go that frames the place into the
// associated data; the binding mutations blank one part of it.
const adLine = "for _, s := range [...]string{p.Project, p.Environment, p.Key} {"

// The SECURITY.md guarantees are numbered as there; README rows are named
// by their rule.
var mutations = []mutation{
	// SECURITY.md 1: the store alone cannot read a value.
	{
		Name:  "null-cipher",
		Claim: "SECURITY 1: the store alone cannot read a value",
		Break: "seal stores the value in clear (and open returns it), as a null cipher",
		Edits: []edit{
			{"crypto/envelope.go", "return aead.Seal(out, out[1+idSize:headerSize], plaintext, associatedData(p, keyID)), nil",
				"return append(append(out, plaintext...), make([]byte, tagSize)...), nil"},
			{"crypto/envelope.go", "plain, err := aead.Open(nil, env.Nonce, env.Ciphertext, associatedData(p, env.KeyID))",
				"plain, err := env.Ciphertext[:len(env.Ciphertext)-tagSize], error(nil)"},
		},
		Tests: []testRef{
			{".", "^TestStoreHoldsNoPlaintext$"}, canaryTest, failedCall, soak,
			{"cofferhttp", "^TestCanary$"},
		},
		Quick: true,
	},

	// SECURITY.md 2: the store cannot make coffer return a wrong value.
	{
		Name:  "ad-without-key",
		Claim: "SECURITY 2: an envelope is bound to its key",
		Break: "the associated data leaves out the key",
		Edits: []edit{{"crypto/envelope.go", adLine, "for _, s := range [...]string{p.Project, p.Environment, \"\"} {"}},
		Tests: []testRef{copied("key"), {".", "^TestSwappedSealedValues$"}, {".", "^TestTamperCopiedValue$"}, tamper},
		Quick: true,
	},
	{
		Name:  "ad-without-environment",
		Claim: "SECURITY 2: an envelope is bound to its environment",
		Break: "the associated data leaves out the environment",
		Edits: []edit{{"crypto/envelope.go", adLine, "for _, s := range [...]string{p.Project, \"\", p.Key} {"}},
		Tests: []testRef{copied("environment"), {".", "^TestTamperCopiedValue$"}, tamper},
	},
	{
		Name:  "ad-without-project",
		Claim: "SECURITY 2: an envelope is bound to its project",
		Break: "the associated data leaves out the project",
		Edits: []edit{{"crypto/envelope.go", adLine, "for _, s := range [...]string{\"\", p.Environment, p.Key} {"}},
		Tests: []testRef{copied("project"), tamper},
	},
	{
		Name:  "ad-without-creation-time",
		Claim: "SECURITY 2: an envelope is bound to its record's creation time",
		Break: "the associated data leaves out the creation time",
		Edits: []edit{{"crypto/envelope.go", "ad = binary.BigEndian.AppendUint64(ad, uint64(p.CreatedAt.UnixMilli()))",
			"ad = binary.BigEndian.AppendUint64(ad, 0)"}},
		Tests: []testRef{copied("creation_time"), {".", "^TestTamperCopiedValue$"}, tamper},
	},
	{
		Name:  "ad-without-key-id",
		Claim: "SECURITY 2: an envelope is bound to its data-key id",
		Break: "the associated data leaves out the data-key id",
		Edits: []edit{{"crypto/envelope.go", "return binary.BigEndian.AppendUint32(ad, keyID)", "return ad"}},
		Tests: []testRef{copied("data-key_id"), {"crypto", "^TestKeyIDBound$"}},
	},
	{
		Name:  "keyring-active-unchecked",
		Claim: "SECURITY 2: a tampered keyring gives an error, never a value",
		Break: "a keyring naming an active key it does not hold is accepted",
		Edits: []edit{{"crypto/keyring.go", "if k.keys[active] == nil {", "if false && k.keys[active] == nil {"}},
		Tests: []testRef{{".", "^TestTamperedKeyring$/^unknown_active_key$"}},
	},

	// SECURITY.md 3: no value leaks through coffer's own outputs.
	{
		Name:  "value-string",
		Claim: "SECURITY 3 and README \"values never shown\": Value prints redacted",
		Break: "Value.String returns the value",
		Edits: []edit{{"types.go", "func (Value) String() string { return redacted }", "func (v Value) String() string { return string(v) }"}},
		Tests: []testRef{canaryTest},
		Quick: true,
	},
	{
		Name:  "value-json",
		Claim: "SECURITY 3: Value marshals to JSON redacted",
		Break: "Value.MarshalJSON encodes the value",
		Edits: []edit{{"types.go", "func (Value) MarshalJSON() ([]byte, error) { return []byte(`\"` + redacted + `\"`), nil }",
			"func (v Value) MarshalJSON() ([]byte, error) { return []byte(`\"` + string(v) + `\"`), nil }"}},
		Tests: []testRef{canaryTest},
	},
	{
		Name:  "value-slog",
		Claim: "SECURITY 3: Value logs redacted through slog",
		Break: "Value.LogValue logs the value",
		Edits: []edit{{"types.go", "func (Value) LogValue() slog.Value { return slog.StringValue(redacted) }",
			"func (v Value) LogValue() slog.Value { return slog.StringValue(string(v)) }"}},
		Tests: []testRef{canaryTest},
	},
	{
		Name:  "error-shows-value",
		Claim: "SECURITY 3: no error shows a value",
		Break: "the value-too-large error quotes the value",
		Edits: []edit{{"validate.go", `return fmt.Errorf("%w: value is %d bytes, the limit is %d", ErrValueTooLarge, len(v), maxBytes)`,
			`return fmt.Errorf("%w: value %s is %d bytes, the limit is %d", ErrValueTooLarge, string(v), len(v), maxBytes)`}},
		Tests: []testRef{canaryTest, {"cofferhttp", "^TestCanary$"}},
	},
	{
		Name:  "redact-window",
		Claim: "SECURITY 3: no error shows a piece of a collection or keeper URL",
		Break: "URL pieces are withheld from 8 bytes instead of 6",
		Edits: []edit{{"internal/redact/redact.go", "const window = 6", "const window = 8"}},
		Tests: []testRef{rootFuzzOpen},
		Quick: true,
	},
	{
		Name:  "redact-never-withholds",
		Claim: "SECURITY 3: no error shows a piece of a collection or keeper URL",
		Break: "an error message that still shows the URL is passed on",
		Edits: []edit{{"internal/redact/redact.go", "if Leaks(msg, rest) {", "if false && Leaks(msg, rest) {"}},
		Tests: []testRef{rootFuzzOpen, {"internal/redact", "^FuzzError$"}},
	},

	// SECURITY.md 4: a failed call loses nothing.
	{
		Name:  "store-error-unwrapped",
		Claim: "SECURITY 4: a failed call returns a clear error whose cause errors.Is matches",
		Break: "store errors are formatted with %v, dropping the cause",
		Edits: []edit{{"errors.go", `return fmt.Errorf("coffer: %s: %w", op, err)`, `return fmt.Errorf("coffer: %s: %v", op, err)`}},
		Tests: []testRef{faultsTest, failedCall},
		Quick: true,
	},
	{
		Name:  "rotate-ignores-write-failure",
		Claim: "SECURITY 4: a failed call leaves the store as before or as after",
		Break: "RotateDataKey uses its new key even when storing the keyring failed",
		Edits: []edit{{"crypto/keyring.go", "\t\tdefault:\n\t\t\treturn 0, fmt.Errorf(\"coffer: write keyring: %w\", err)",
			"\t\tdefault:\n\t\t\treturn id, k.install(ctx, rec, map[uint32][]byte{id: key}, readAt)"}},
		Tests: []testRef{faultsTest, failedCall},
	},

	{
		Name:  "context-ignored",
		Claim: "SECURITY 4: a call whose context is cancelled returns an error matching context.Canceled and changes nothing",
		Break: "the Manager no longer checks its context before store calls",
		Edits: []edit{{"manager.go", "\t\treturn ErrClosed\n\t}\n\treturn ctx.Err()\n", "\t\treturn ErrClosed\n\t}\n\treturn nil\n"}},
		Tests: []testRef{conformance("ContextCanceled")},
	},

	// SECURITY.md 5: a corrupted answer is detected, not spread.
	{
		Name:  "description-update-unchecked",
		Claim: "SECURITY 5: a description-only Update checks the stored envelope opens",
		Break: "Update writes the envelope it read back without opening it",
		Edits: []edit{{"history.go", "if e.value == nil || m.opts.MaxVersions > 1 {", "if e.value != nil && m.opts.MaxVersions > 1 {"}},
		Tests: []testRef{{".", "^TestDescriptionUpdateChecksTheValue$"}, faultsTest},
		Quick: true,
	},
	{
		Name:  "rotate-keyring-unchecked",
		Claim: "SECURITY 5: RotateDataKey checks every wrapped key it rewrites",
		Break: "Rotate writes back the keyring it read without checking any wrapped key",
		Edits: []edit{
			{"crypto/keyring.go", "if err := k.checkStored(ctx, rec); err != nil {", "if err := k.checkStored(ctx, rec); false && err != nil {"},
			{"crypto/keyring.go", "if err := k.checkKeeper(ctx, rec); err != nil {", "if err := k.checkKeeper(ctx, rec); false && err != nil {"},
		},
		Tests: []testRef{{"crypto", "^TestRotateRefusesCorruptedKeyring$"}, faultsTest},
	},
	{
		Name:  "rotate-older-keys-unchecked",
		Claim: "SECURITY 5: RotateDataKey checks every wrapped key it rewrites, older ones too",
		Break: "Rotate checks only the active key of the keyring it read",
		Edits: []edit{{"crypto/keyring.go", "if err := k.checkStored(ctx, rec); err != nil {", "if err := k.checkStored(ctx, rec); false && err != nil {"}},
		Tests: []testRef{{"crypto", "^TestRotateRefusesCorruptedOlderKey$"}},
	},
	{
		Name:  "wrap-unchecked",
		Claim: "SECURITY 5: a keeper whose Encrypt answer does not unwrap to the new data key fails keyring creation and rotation",
		Break: "a new data key is stored without checking the keeper unwraps it",
		Edits: []edit{{"crypto/keyring.go", "if subtle.ConstantTimeCompare(back, key) != 1 {", "if subtle.ConstantTimeCompare(back, key) != 1 && false {"}},
		Tests: []testRef{{"crypto", "^TestWrapCheckedAgainstOtherBytes$"}},
	},

	// SECURITY.md 6: bad input never panics.
	{
		Name:  "parse-unbounded",
		Claim: "SECURITY 6: bad input never panics (the envelope parser)",
		Break: "Parse no longer checks the envelope's minimum length",
		Edits: []edit{{"crypto/envelope.go", "if len(sealed) < Overhead {", "if len(sealed) < 1 {"}},
		Tests: []testRef{{"crypto", "^FuzzOpen$"}, {"crypto", "^FuzzParse$"}, {".", "^FuzzStoredDocuments$"}},
		Quick: true,
	},
	{
		Name:  "keyring-unwrap-error-unclear",
		Claim: "SECURITY 6: every decoder of stored documents gives a specific error",
		Break: "a stored data key the keeper cannot unwrap gives an error that is neither ErrDecrypt nor coffer's",
		Edits: []edit{{"crypto/keyring.go", `return fmt.Errorf("%w: the keeper cannot unwrap data key %d: %w", ErrDecrypt, id, err)`,
			`return fmt.Errorf("the keeper cannot unwrap data key %d: %w", id, err)`}},
		Tests: []testRef{{".", "^FuzzStoredDocuments$"}},
	},

	// SECURITY.md 7 and README: concurrent writers do not lose updates.
	{
		Name:  "update-unconditional",
		Claim: "SECURITY 7 and README: concurrent Updates never lose one another",
		Break: "Update writes without the revision it read",
		Edits: []edit{{"history.go", "\t\terr = m.shared.coll.Replace(ctx, rec)", "\t\trec.DocstoreRevision = nil\n\t\terr = m.shared.coll.Replace(ctx, rec)"}},
		Tests: []testRef{soak, conformance("ConcurrentUpdatesLoseNothing")},
		Quick: true,
	},
	{
		Name:  "sqlite-replace-unchecked",
		Claim: "README SQLite: two processes share one file without a lost update",
		Break: "the SQLite driver's Replace ignores the revision",
		Edits: []edit{{"backend/sqldocstore/collection.go", "\t\tif want != nil {\n\t\t\tb.w(\" AND (\", colRev, \" IS NULL OR \", colRev, \" = \", b.arg(want), \")\")\n\t\t}\n\t}\n\tn, err := execCount",
			"\t\tif false && want != nil {\n\t\t\tb.w(\" AND (\", colRev, \" IS NULL OR \", colRev, \" = \", b.arg(want), \")\")\n\t\t}\n\t}\n\tn, err := execCount"}},
		Tests: []testRef{{"backend/sqldocstore", "^TestTwoProcessesNoLostUpdate$"}},
	},
	{
		Name:  "sqlite-writers-unqueued",
		Claim: "README SQLite: writers within one process queue instead of polling for the lock",
		Break: "the driver's in-process write queue is skipped",
		Edits: []edit{{"backend/sqldocstore/collection.go", "\tif c.wlock == nil {\n\t\treturn func() {}, nil", "\tif true {\n\t\treturn func() {}, nil"}},
		Tests: []testRef{{"backend/sqldocstore", "^TestInProcessWritersQueue$"}},
	},
	{
		Name:  "sqlite-synchronous-normal",
		Claim: "README SQLite: opened with synchronous=FULL",
		Break: "synchronous=NORMAL",
		Edits: []edit{{"backend/sqldocstore/urls.go", "_pragma=synchronous(FULL)", "_pragma=synchronous(NORMAL)"}},
		Tests: []testRef{sqliteSettings},
		Quick: true,
	},
	{
		Name:  "sqlite-journal-delete",
		Claim: "README SQLite: opened with a WAL journal",
		Break: "journal_mode=DELETE",
		Edits: []edit{{"backend/sqldocstore/urls.go", "_pragma=journal_mode(WAL)", "_pragma=journal_mode(DELETE)"}},
		Tests: []testRef{sqliteSettings},
	},
	{
		Name:  "sqlite-busy-timeout",
		Claim: "README SQLite: a 10 s busy timeout between processes",
		Break: "busy_timeout=1000",
		Edits: []edit{{"backend/sqldocstore/urls.go", "_pragma=busy_timeout(10000)", "_pragma=busy_timeout(1000)"}},
		Tests: []testRef{sqliteSettings},
	},
	{
		Name:  "sqlite-deferred-tx",
		Claim: "README SQLite: immediate write transactions",
		Break: "_txlock=deferred",
		Edits: []edit{{"backend/sqldocstore/urls.go", "&_txlock=immediate\"", "&_txlock=deferred\""}},
		Tests: []testRef{sqliteSettings},
	},

	// README's rules table.
	{
		Name:  "rule-key-required",
		Claim: "README rule: key required",
		Break: "an empty key passes the key rules",
		Edits: []edit{{"validate.go", "\tif key == \"\" {\n\t\treturn ErrKeyRequired", "\tif key == \"\" && false {\n\t\treturn ErrKeyRequired"}},
		Tests: []testRef{createRules},
		Quick: true,
	},
	{
		Name:  "rule-value-required",
		Claim: "README rule: value required on create",
		Break: "Create accepts an empty value",
		Edits: []edit{{"validate.go", "\tif s.Value == \"\" {\n\t\tp.add(ErrValueRequired)", "\tif false {\n\t\tp.add(ErrValueRequired)"}},
		Tests: []testRef{createRules},
	},
	{
		Name:  "rule-key-characters",
		Claim: "README rule: key characters (letters, digits, _)",
		Break: "'-' is allowed in keys",
		Edits: []edit{{"validate.go", "case r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_':", "case r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_', r == '-':"}},
		Tests: []testRef{createRules, {".", "^FuzzValidateKey$"}},
	},
	{
		Name:  "rule-key-length",
		Claim: "README rule: keys of at most 256 bytes",
		Break: "a 257-byte key is accepted",
		Edits: []edit{{"validate.go", "if len(key) > MaxKeyBytes {", "if len(key) > MaxKeyBytes+1 {"}},
		Tests: []testRef{createRules},
	},
	{
		Name:  "rule-case-sensitive",
		Claim: "README rule: keys are case-sensitive",
		Break: "Create stores a key upper-cased",
		Edits: []edit{{"secrets.go", "\trec := m.record(s.Key)\n", "\trec := m.record(strings.ToUpper(s.Key))\n"}},
		Tests: []testRef{conformance("KeysAreCaseSensitive")},
	},
	{
		Name:  "rule-key-unchanged",
		Claim: "README rule: keys cannot be changed; Update never touches the key",
		Break: "Update stores another key in the record",
		Edits: []edit{{"history.go", "\t\trec.UpdatedAt, rec.UpdatedBy = now, actorOf(ctx)\n", "\t\trec.UpdatedAt, rec.UpdatedBy, rec.Key = now, actorOf(ctx), rec.Key+\"_RENAMED\"\n"}},
		Tests: []testRef{updateRules},
	},
	{
		Name:  "rule-value-size",
		Claim: "README rule: values of at most MaxValueBytes",
		Break: "a value one byte over the limit is accepted",
		Edits: []edit{{"validate.go", "if len(v) > maxBytes {", "if len(v) > maxBytes+1 {"}},
		Tests: []testRef{createRules},
	},
	{
		Name:  "rule-value-nul",
		Claim: "README rule: no NUL byte in a value",
		Break: "a NUL byte is accepted",
		Edits: []edit{{"validate.go", "if i := strings.IndexByte(string(v), 0); i >= 0 {", "if i := strings.IndexByte(string(v), 0); i >= len(v) {"}},
		Tests: []testRef{createRules, updateRules},
	},
	{
		Name:  "rule-description-characters",
		Claim: "README rule: descriptions of at most 1024 characters",
		Break: "the limit counts bytes, not characters",
		Edits: []edit{{"validate.go", "if n := utf8.RuneCountInString(d); n > MaxDescriptionChars {", "if n := len(d); n > MaxDescriptionChars {"}},
		Tests: []testRef{createRules},
	},
	{
		Name:  "rule-description-utf8",
		Claim: "README rule: descriptions are valid UTF-8",
		Break: "invalid UTF-8 is accepted",
		Edits: []edit{{"validate.go", "if !utf8.ValidString(d) {", "if false && !utf8.ValidString(d) {"}},
		Tests: []testRef{createRules, updateRules},
	},
	{
		Name:  "rule-type-inferred",
		Claim: "README rule: the type is inferred from the key",
		Break: "*_TOKEN infers generic",
		Edits: []edit{{"validate.go", "case is(\"TOKEN\"):\n\t\treturn TypeToken", "case is(\"TOKEN\"):\n\t\treturn TypeGeneric"}},
		Tests: []testRef{{".", "^TestInferType$"}},
	},
	{
		Name:  "rule-type-identifier",
		Claim: "README rule: a set type is a lower-case identifier",
		Break: "'-' is allowed in types",
		Edits: []edit{{"validate.go", "if (c >= 'a' && c <= 'z') || c == '_' || (i > 0 && c >= '0' && c <= '9') {", "if (c >= 'a' && c <= 'z') || c == '_' || c == '-' || (i > 0 && c >= '0' && c <= '9') {"}},
		Tests: []testRef{createRules},
	},
	{
		Name:  "rule-all-problems",
		Claim: "README rule: several problems are reported at once",
		Break: "only the first problem is reported",
		Edits: []edit{{"validate.go", "if len(p.err.Errors) == 1 {", "if len(p.err.Errors) >= 1 {"}},
		Tests: []testRef{createRules, updateRules},
	},
	{
		Name:  "rule-empty-value-keeps",
		Claim: "README rule: edit with an empty value keeps the current value",
		Break: "Update seals the empty value",
		Edits: []edit{{"secrets.go", "\tif c.Value != \"\" {\n\t\te.value = []byte(c.Value)", "\tif true {\n\t\te.value = []byte(c.Value)"}},
		Tests: []testRef{updateRules},
	},
	{
		Name:  "rule-no-changes",
		Claim: "README rule: edit with nothing new gives ErrNoChanges",
		Break: "the same description counts as a change",
		Edits: []edit{{"secrets.go", "if c.Value == \"\" && *c.Description == rec.Description {", "if c.Value == \"\" && *c.Description == rec.Description+\"?\" {"}},
		Tests: []testRef{updateRules},
	},
	{
		Name:  "rule-history-kept",
		Claim: "README rule: history (each value change keeps the replaced value as a version)",
		Break: "no version is kept",
		Edits: []edit{{"history.go", "if m.opts.MaxVersions < 2 || (!valueChange && !rec.UpdatedAt.Equal(rec.RotatedAt)) {", "if true {"}},
		Tests: []testRef{conformance("Versions"), conformance("Rollback")},
	},
	{
		Name:  "rule-history-pruned",
		Claim: "README rule: history keeps at most MaxVersions values",
		Break: "one version too many is kept",
		Edits: []edit{{"history.go", "old := version - m.opts.MaxVersions\n", "old := version - m.opts.MaxVersions - 1\n"}},
		Tests: []testRef{conformance("VersionsPruning")},
	},
	{
		Name:  "rule-check-and-set",
		Claim: "README rule: check-and-set (a stale IfVersion is ErrConflict, nothing changed)",
		Break: "IfVersion is ignored",
		Edits: []edit{{"history.go", "if ifVersion != 0 && rec.Version != ifVersion {", "if false && ifVersion != 0 && rec.Version != ifVersion {"}},
		Tests: []testRef{conformance("CheckAndSet")},
	},
	{
		Name:  "rule-delete-destroys-versions",
		Claim: "README rule: delete is permanent, every version gone",
		Break: "Delete leaves the secret's versions",
		Edits: []edit{{"secrets.go", "\t\t\tif unconditional || mayHaveHistory(rec) {\n", "\t\t\tif false && mayHaveHistory(rec) {\n"}},
		Tests: []testRef{conformance("VersionsDeleteDestroysAll")},
	},
	{
		Name:  "rule-no-cache",
		Claim: "README rule: changes take effect immediately (no value cache)",
		Break: "Reveal answers from a process-wide cache",
		Edits: []edit{
			{"secrets.go", "\trec, err := m.get(ctx, key, layout.SealedFields...)\n\tif err != nil {\n\t\treturn \"\", err\n\t}\n\tplain, err := m.shared.keyring.Open(ctx, m.place(key, rec.CreatedAt), rec.Sealed)",
				"\tif v, ok := revealCache.Load(m.scope + \"/\" + key); ok {\n\t\treturn v.(Value), nil\n\t}\n\trec, err := m.get(ctx, key, layout.SealedFields...)\n\tif err != nil {\n\t\treturn \"\", err\n\t}\n\tplain, err := m.shared.keyring.Open(ctx, m.place(key, rec.CreatedAt), rec.Sealed)\n\tif err == nil {\n\t\trevealCache.Store(m.scope+\"/\"+key, Value(plain))\n\t}"},
			{"secrets.go", "func toSecret(r *layout.Record) Secret {", "var revealCache sync.Map\n\nfunc toSecret(r *layout.Record) Secret {"},
			{"secrets.go", "\t\"strings\"\n", "\t\"strings\"\n\t\"sync\"\n"},
		},
		Tests: []testRef{conformance("ChangesTakeEffectImmediately")},
	},
	{
		Name:  "rule-list-reuse-unchecked",
		Claim: "README rule: changes take effect immediately (List reuses its last answer only while every record's revision holds)",
		Break: "List reuses its last answer without comparing revisions",
		Edits: []edit{{"secrets.go", "rec.Key != last.secrets[i].Key || rev != last.revs[i] {", "rec.Key != last.secrets[i].Key || rev == nil {"}},
		Tests: []testRef{conformance("ListSeesEveryChange")},
	},
	{
		Name:  "rule-delete-permanent",
		Claim: "README rule: delete is permanent",
		Break: "Delete reports success without deleting",
		Edits: []edit{{"secrets.go", "\t\terr = m.shared.coll.Delete(ctx, rec)\n", "\t\t_, err = rec, nil\n"}},
		Tests: []testRef{conformance("DeleteIsPermanent")},
	},
	{
		Name:  "rule-list-metadata-only",
		Claim: "README rule: values never shown; List returns metadata only, never reading a sealed value",
		Break: "List fetches the Sealed field too",
		Edits: []edit{{"internal/layout/decode.go", "\"UpdatedBy\", \"Version\",\n\t}\n\t// KeyFields", "\"UpdatedBy\", \"Version\", \"Sealed\",\n\t}\n\t// KeyFields"}},
		Tests: []testRef{{".", "^TestListNeverReadsSealed$"}},
	},
	{
		Name:  "rule-did-you-mean",
		Claim: "README rule: ErrNotFound suggests a key differing in case or underscores",
		Break: "keys are compared as they are",
		Edits: []edit{{"secrets.go", "return strings.ToUpper(strings.ReplaceAll(key, \"_\", \"\"))", "return strings.Clone(key)"}},
		Tests: []testRef{conformance("DidYouMean")},
	},
	{
		Name:  "rule-environments-isolated",
		Claim: "README rule: one Manager per (project, environment); the same key in two is two secrets",
		Break: "the listing scope leaves out the environment",
		Edits: []edit{{"internal/layout/record.go", "\treturn project + \"/\" + environment\n", "\treturn project + \"/\"\n"}},
		Tests: []testRef{conformance("ProjectsAndEnvironmentsAreIsolated")},
	},
	{
		Name:  "rule-names",
		Claim: "README rule: project and environment names of letters, digits, - and _",
		Break: "'/' is allowed in names",
		Edits: []edit{{"validate.go", "if (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' {",
			"if (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '/' {"}},
		Tests: []testRef{{".", "^TestNames$"}},
	},
	{
		Name:  "rule-rejected-changes-nothing",
		Claim: "README: a rejected call changes nothing stored",
		Break: "a rejected Create still writes an empty record",
		Edits: []edit{{"secrets.go", "\tif err := m.Validate(s); err != nil {\n\t\treturn Secret{}, err\n\t}\n\ttyp := s.Type",
			"\tif err := m.Validate(s); err != nil {\n\t\t_ = m.shared.coll.Put(ctx, m.record(\"REJECTED\"))\n\t\treturn Secret{}, err\n\t}\n\ttyp := s.Type"}},
		Tests: []testRef{createRules},
	},
	{
		Name:  "rule-one-create-wins",
		Claim: "README: of racing Creates of one key exactly one wins",
		Break: "Create overwrites a taken key",
		Edits: []edit{{"secrets.go", "\tif err := m.shared.coll.Create(ctx, rec); err != nil {", "\tif err := m.shared.coll.Put(ctx, rec); err != nil {"}},
		Tests: []testRef{conformance("RacingCreates")},
	},

	// SECURITY.md, "The HTTP layer (cofferhttp)".
	{
		Name:  "http-roles",
		Claim: "SECURITY HTTP: who can do what is the role table, per token and environment",
		Break: "a viewer may also write",
		Edits: []edit{{"cofferhttp/roles.go", "\tRoleViewer: {actRead},", "\tRoleViewer: {actRead, actWrite},"}},
		Tests: []testRef{{"cofferhttp", "^TestRoleMatrix$"}},
	},
	{
		Name:  "http-environments",
		Claim: "SECURITY HTTP: who can do what is the role table, per token and environment",
		Break: "a token's environments are not checked",
		Edits: []edit{{"cofferhttp/auth.go", "\treturn p.Environments == nil || slices.Contains(p.Environments, env)",
			"\treturn p.Environments == nil || slices.Contains(p.Environments, env) || true"}},
		Tests: []testRef{{"cofferhttp", "^TestRoleMatrix$"}},
	},
	{
		Name:  "http-throttle",
		Claim: "SECURITY HTTP: guessing is throttled per client address",
		Break: "a throttled address is never made to wait",
		Edits: []edit{{"cofferhttp/throttle.go", "\tif t.entries.Load() == 0 {", "\tif true || t.entries.Load() == 0 {"}},
		Tests: []testRef{{"cofferhttp", "^TestThrottle$"}},
	},
	{
		Name:  "http-sign-out-replicas",
		Claim: "SECURITY HTTP: sign-out holds on every replica",
		Break: "a replica never reads the sign-out list from the store",
		Edits: []edit{{"cofferhttp/session.go", "\tif l.m == nil {\n\t\treturn false, nil\n\t}\n\tnow := l.now()",
			"\tif l.m == nil || true {\n\t\treturn false, nil\n\t}\n\tnow := l.now()"}},
		Tests: []testRef{{"cofferhttp", "^TestReplicas$/^sqlite$"}},
	},
	{
		Name:  "http-shared-read-fresh",
		Claim: "SECURITY HTTP: a shared read never began before the request arrived",
		Break: "a request joins a read already in progress",
		Edits: []edit{{"cofferhttp/shared.go", "\t// A read is in progress, begun before this request: wait for the next.\n",
			"\tif r := g.running[k]; r != nil {\n\t\tg.mu.Unlock()\n\t\t<-r.done\n\t\treturn r.value, true, r.err\n\t}\n"}},
		Tests: []testRef{{"cofferhttp", "^TestReadGroupFreshness$"}},
	},
	{
		Name:  "http-value-in-log",
		Claim: "SECURITY HTTP: only the value endpoints answer values; no log line holds one",
		Break: "the request log records the value read",
		Edits: []edit{{"cofferhttp/reads.go", "\t\treturn marshal(valueResponse{Key: s.Key, Version: s.Version, Value: string(v)})",
			"\t\th.log.Info(\"read\", \"value\", string(v))\n\t\treturn marshal(valueResponse{Key: s.Key, Version: s.Version, Value: string(v)})"}},
		Tests: []testRef{{"cofferhttp", "^TestCanary$"}},
	},
}
