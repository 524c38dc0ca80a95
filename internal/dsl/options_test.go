package dsl_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestMisusedOptionFailsToCompile compiles code that passes a state.Option
// where a ktable.Option goes, in a package added by an overlay (nothing is
// written to the source tree): the compiler's error names both types, with
// no "missing method" about an unexported method of an interface, and code
// that passes the options of one DSL package to another's operations
// compiles.
func TestMisusedOptionFailsToCompile(t *testing.T) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to compile the misuse: %v", err)
	}
	build := func(code string) (string, error) {
		t.Helper()
		dir := t.TempDir()
		src := filepath.Join(dir, "misuse.go")
		if err := os.WriteFile(src, []byte(code), 0o644); err != nil {
			t.Fatal(err)
		}
		wd, err := os.Getwd()
		if err != nil {
			t.Fatal(err)
		}
		overlay, err := json.Marshal(map[string]map[string]string{
			"Replace": {filepath.Join(wd, "misusetest", "misuse.go"): src},
		})
		if err != nil {
			t.Fatal(err)
		}
		ovl := filepath.Join(dir, "overlay.json")
		if err := os.WriteFile(ovl, overlay, 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(gobin, "build", "-overlay="+ovl, "./misusetest").CombinedOutput()
		return string(out), err
	}
	const header = `package misuse

import (
	"github.com/strata-go/strata/join"
	"github.com/strata-go/strata/kstream"
	"github.com/strata-go/strata/ktable"
	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/state"
	"github.com/strata-go/strata/topology"
)

var _ = join.Named
var _ = state.InMemory

func f() {
	b := topology.NewBuilder()
	s := kstream.From(b, "in", serde.String(), serde.String())
`
	out, err := build(header + "	ktable.GroupByKey(s).Count(state.InMemory())\n}\n")
	if err == nil {
		t.Fatal("passing a state.Option as a ktable.Option compiled")
	}
	if !strings.Contains(out, "cannot use state.InMemory() (value of func type state.Option) as ktable.Option value") || strings.Contains(out, "missing method") {
		t.Errorf("compiler error:\n%s\nwant one saying a state.Option is not a ktable.Option", out)
	}
	out, err = build(header + "	ktable.GroupByKey(s, join.Named(\"g\")).Count(kstream.Named(\"c\"))\n}\n")
	if err != nil {
		t.Errorf("options of one DSL package passed to another's operations did not compile:\n%s", out)
	}
}
