package schema_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/authzed/spicedb/pkg/development"
	devinterface "github.com/authzed/spicedb/pkg/proto/developer/v1"
	"github.com/authzed/spicedb/pkg/tuple"

	"github.com/gatehouse-dev/gatehouse/relations/validation"
)

// refusedFile lists relationships the schema must refuse to store: the subject types each
// relation must NOT allow. Validation files cannot say it (they only hold relationships the
// schema accepts, and checks never look at a relation's subject types), so this file is
// what kills the mutants that widen a relation.
const refusedFile = "testdata/refused.txt"

// verdict is what became of one mutant.
type verdict int

const (
	survived verdict = iota
	killed
	invalid // the mutant is not a valid schema: not counted
)

type validationFile struct {
	name     string
	contents []byte
}

// TestSchemaMutants is schema mutation testing (issue 7.6): every one-step mutant of
// gatehouse.zed (generateMutants) is run against every validation file in testdata/ and
// against refused.txt. A mutant survives when all of them still pass: some rule of
// MISSION.md is then not pinned by any test. The test fails when any mutant survives and
// prints "MUTANTS total=N killed=K survived=S" and one "SURVIVED" line per survivor
// (`make test` shows them).
func TestSchemaMutants(t *testing.T) {
	start := time.Now()
	mutants := generateMutants(t, compileSchema(t))
	require.NotEmpty(t, mutants)
	if raceEnabled {
		// Under -race SpiceDB's evaluation is several times slower: run a fixed sample (it
		// still exercises the parallel run); `make test` runs all of them without -race.
		mutants = sample(mutants, 10)
	}
	files := loadValidationFiles(t)
	refused := loadRefused(t)
	v, reason := judge(t, compileAndRender(t), files, refused)
	require.Equal(t, survived, v, "the unmutated schema, as the generator renders it, must pass: %s", reason)

	verdicts := make([]verdict, len(mutants))
	reasons := make([]string, len(mutants))
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range max(runtime.GOMAXPROCS(0), 1) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				verdicts[i], reasons[i] = judge(t, mutants[i].text, files, refused)
			}
		}()
	}
	for i := range mutants {
		jobs <- i
	}
	close(jobs)
	wg.Wait()

	var counts [3]int
	var survivors []string
	for i, v := range verdicts {
		counts[v]++
		switch v {
		case survived:
			survivors = append(survivors, mutants[i].desc)
		case invalid:
			t.Logf("invalid mutant (not counted): %s: %s", mutants[i].desc, reasons[i])
		}
	}
	total := counts[killed] + counts[survived]
	fmt.Printf("MUTANTS total=%d killed=%d survived=%d invalid=%d (%s)\n",
		total, counts[killed], counts[survived], counts[invalid], time.Since(start).Round(time.Second))
	for _, s := range survivors {
		fmt.Printf("SURVIVED %s\n", s)
	}
	if len(survivors) > 0 {
		t.Errorf("%d mutants survived: every mutant must be killed by testdata/*.yaml or %s (see SURVIVED above)",
			len(survivors), refusedFile)
	}
}

// judge runs one mutant: refused.txt first (cheap), then the validation files, stopping
// at the first that fails.
func judge(t *testing.T, text string, files []validationFile, refused []tuple.Relationship) (verdict, string) {
	ctx := context.Background()
	accepted, schemaErr, err := acceptedOf(ctx, text, refused)
	require.NoError(t, err)
	switch {
	case schemaErr != "":
		return invalid, schemaErr
	case len(accepted) > 0:
		return killed, refusedFile + " accepts " + accepted[0]
	}
	for _, f := range files {
		rep, err := validation.ValidateWithSchema(ctx, f.name, f.contents, text)
		require.NoError(t, err, f.name)
		if !rep.OK() {
			return killed, rep.Errors[0].String()
		}
	}
	return survived, ""
}

// acceptedOf loads rels into a fresh in-memory SpiceDB under schemaText and returns those
// it stores without error. schemaErr is set when schemaText itself is invalid.
func acceptedOf(ctx context.Context, schemaText string, rels []tuple.Relationship) (accepted []string, schemaErr string, err error) {
	req := &devinterface.RequestContext{Schema: schemaText}
	for _, r := range rels {
		req.Relationships = append(req.Relationships, r.ToCoreTuple())
	}
	devCtx, devErrs, err := development.NewDevContext(ctx, req, development.WithDisableImports())
	if err != nil {
		return nil, "", err
	}
	if devCtx != nil {
		devCtx.Dispose()
	}
	refusedSet := map[string]bool{}
	for _, de := range devErrs.GetInputErrors() {
		if de.GetSource() != devinterface.DeveloperError_RELATIONSHIP {
			return nil, de.GetMessage(), nil
		}
		refusedSet[de.GetContext()] = true
	}
	for _, r := range rels {
		if s := tuple.MustString(r); !refusedSet[s] {
			accepted = append(accepted, s)
		}
	}
	return accepted, "", nil
}

// loadValidationFiles reads testdata/*.yaml, cheapest first so most mutants die early.
func loadValidationFiles(t *testing.T) []validationFile {
	t.Helper()
	names, err := filepath.Glob(filepath.Join("testdata", "*.yaml"))
	require.NoError(t, err)
	require.NotEmpty(t, names)
	var files []validationFile
	for _, n := range names {
		b, err := os.ReadFile(n) //nolint:gosec // G304: test data
		require.NoError(t, err)
		files = append(files, validationFile{name: n, contents: b})
	}
	slices.SortStableFunc(files, func(a, b validationFile) int { return len(a.contents) - len(b.contents) })
	return files
}

// loadRefused parses refused.txt: `//` comments, and lines "type:id#relation subject..."
// where each subject ("type:id", "type:id#relation" or "type:*") is one relationship the
// schema must refuse.
func loadRefused(t testing.TB) []tuple.Relationship {
	t.Helper()
	f, err := os.Open(refusedFile)
	require.NoError(t, err)
	defer func() { _ = f.Close() }()
	var out []tuple.Relationship
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "//") {
			continue
		}
		fields := strings.Fields(line)
		require.Greater(t, len(fields), 1, "%s:%d: a resource#relation and at least one subject", refusedFile, n)
		for _, subject := range fields[1:] {
			rel, err := tuple.Parse(fields[0] + "@" + subject)
			require.NoError(t, err, "%s:%d", refusedFile, n)
			out = append(out, rel)
		}
	}
	require.NoError(t, sc.Err())
	require.NotEmpty(t, out)
	return out
}

// sample keeps every nth mutant.
func sample(ms []mutant, n int) []mutant {
	var out []mutant
	for i := 0; i < len(ms); i += n {
		out = append(out, ms[i])
	}
	return out
}

// TestRefusedRelationships: the shipped schema refuses every relationship of refused.txt,
// each naming a relation (not a permission) that exists, so that each line is refused for
// its subject type and nothing else (PL4, ID2, ID6).
func TestRefusedRelationships(t *testing.T) {
	refused := loadRefused(t)
	relations := map[string]bool{}
	for _, def := range compileSchema(t) {
		for _, rel := range def.Relation {
			if rel.UsersetRewrite == nil {
				relations[def.Name+"#"+rel.Name] = true
			}
		}
	}
	for _, r := range refused {
		require.True(t, relations[r.Resource.ObjectType+"#"+r.Resource.Relation],
			"%s names no relation of gatehouse.zed", tuple.MustString(r))
	}
	accepted, schemaErr, err := acceptedOf(context.Background(), compileAndRender(t), refused)
	require.NoError(t, err)
	require.Empty(t, schemaErr)
	require.Empty(t, accepted, "gatehouse.zed accepts relationships %s says it must refuse", refusedFile)
}

// compileAndRender is gatehouse.zed as the mutants are written (through the generator), so
// the refusals are known to hold for the unmutated rendering too.
func compileAndRender(t *testing.T) string {
	return render(t, compileSchema(t))
}
