package strata_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// guideSource finds, in the paragraph before a Go block of docs/guide.md,
// the last Markdown link to a .go file of the repository: the file the
// block is copied from.
var guideSource = regexp.MustCompile(`\]\(\.\./([^)]+\.go)\)`)

// TestGuideSnippets checks that every Go block in docs/guide.md is copied,
// line for line, from the compiled file its paragraph links to, so the
// guide's code compiles and stays in step with the code.
func TestGuideSnippets(t *testing.T) {
	guide, err := os.ReadFile(filepath.Join("docs", "guide.md"))
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(string(guide), "```go\n")
	if len(parts) < 2 {
		t.Fatal("docs/guide.md has no Go blocks")
	}
	for i, part := range parts[1:] {
		block, _, ok := strings.Cut(part, "```")
		if !ok {
			t.Fatalf("Go block %d is not closed", i+1)
		}
		before := strings.TrimRight(parts[i], "\n")
		if j := strings.LastIndex(before, "\n\n"); j >= 0 {
			before = before[j:]
		}
		links := guideSource.FindAllStringSubmatch(before, -1)
		if len(links) == 0 {
			t.Errorf("Go block %d names no source file in the paragraph before it:\n%s", i+1, block)
			continue
		}
		file := links[len(links)-1][1]
		src, err := os.ReadFile(filepath.FromSlash(file))
		if err != nil {
			t.Errorf("Go block %d: %v", i+1, err)
			continue
		}
		if !strings.Contains(string(src), block) {
			t.Errorf("Go block %d is not in %s:\n%s", i+1, file, block)
		}
	}
}
