package schema_test

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/authzed/spicedb/pkg/validationfile"

	"github.com/gatehouse-dev/gatehouse/relations/validation"
)

// TestEveryAssertionCanFail is the other side of TestSchemaMutants: an assertion that no
// mutant makes fail tests the data, not the schema (it "cannot fail"). It runs every file
// in full against every mutant that changes a permission (widening mutants change no
// check) and lists the assertions that never failed. It takes minutes, so it runs only
// when GATEHOUSE_ASSERTION_COVERAGE=1.
func TestEveryAssertionCanFail(t *testing.T) {
	if os.Getenv("GATEHOUSE_ASSERTION_COVERAGE") != "1" {
		t.Skip("set GATEHOUSE_ASSERTION_COVERAGE=1 to list the assertions no mutant can make fail (minutes)")
	}
	files := loadValidationFiles(t)
	type key struct {
		file string
		line int
	}
	text := map[key]string{}
	for _, f := range files {
		vf, err := validationfile.DecodeValidationFile(f.contents)
		require.NoError(t, err)
		for _, a := range append(vf.Assertions.AssertTrue, vf.Assertions.AssertFalse...) {
			text[key{f.name, a.SourcePosition.LineNumber}] = a.RelationshipWithContextString
		}
	}
	var mutants []mutant
	for _, m := range generateMutants(t, compileSchema(t)) {
		if !strings.Contains(m.desc, ": relation ") {
			mutants = append(mutants, m)
		}
	}
	failed := map[key]bool{}
	var mu sync.Mutex
	jobs := make(chan mutant)
	var wg sync.WaitGroup
	for range max(runtime.GOMAXPROCS(0), 1) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for m := range jobs {
				for _, f := range files {
					rep, err := validation.ValidateWithSchema(context.Background(), f.name, f.contents, m.text)
					require.NoError(t, err)
					mu.Lock()
					for _, d := range rep.Errors {
						failed[key{f.name, d.Line}] = true
					}
					mu.Unlock()
				}
			}
		}()
	}
	for _, m := range mutants {
		jobs <- m
	}
	close(jobs)
	wg.Wait()
	var never []string
	for k, s := range text {
		if !failed[k] {
			never = append(never, fmt.Sprintf("%s:%d: %s", k.file, k.line, s))
		}
	}
	sort.Strings(never)
	fmt.Printf("ASSERTIONS total=%d never-failed=%d (over %d mutants)\n", len(text), len(never), len(mutants))
	for _, s := range never {
		fmt.Printf("CANNOT FAIL %s\n", s)
	}
}
