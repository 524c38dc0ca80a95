package topology

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/strata-go/strata/serde"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// describePassthrough forwards every record unchanged.
type describePassthrough struct{ ctx Context[string, string] }

func (p *describePassthrough) Init(ctx Context[string, string]) error { p.ctx = ctx; return nil }

func (p *describePassthrough) Process(r Record[string, string]) error { return p.ctx.Forward(r) }

func (p *describePassthrough) Close() error { return nil }

func newDescribePassthrough() Processor[string, string, string, string] {
	return &describePassthrough{}
}

func describeSource(b *Builder, name string, topics ...string) {
	AddSource(b, name, Source[string, string]{Topics: topics, KeySerde: serde.String(), ValueSerde: serde.String()})
}

func describeProcessor(b *Builder, name string, parents ...string) {
	AddProcessor(b, name, newDescribePassthrough, parents...)
}

func describeSink(b *Builder, name, topic string, parents ...string) {
	AddSink(b, name, Sink[string, string]{Topic: topic, KeySerde: serde.String(), ValueSerde: serde.String()}, parents...)
}

func mustBuild(t testing.TB, b *Builder) *Topology {
	t.Helper()
	top, err := b.Build()
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	return top
}

// simpleTopology is filter -> mapValues -> to, named as the DSL names it.
func simpleTopology(t testing.TB) *Topology {
	b := NewBuilder()
	describeSource(b, "KSTREAM-SOURCE-0000000000", "input")
	describeProcessor(b, "KSTREAM-FILTER-0000000001", "KSTREAM-SOURCE-0000000000")
	describeProcessor(b, "KSTREAM-MAPVALUES-0000000002", "KSTREAM-FILTER-0000000001")
	describeSink(b, "KSTREAM-SINK-0000000003", "output", "KSTREAM-MAPVALUES-0000000002")
	return mustBuild(t, b)
}

// complexTopology has two sub-topologies joined by a repartition topic, a
// source of two topics, a store shared by two processors (which pulls a
// second source into sub-topology 0), a processor with two children, a node
// with two parents, a sink with a topic extractor and a processor without
// children. Nodes are added out of name order so that ordering is tested.
func complexTopology(t testing.TB) *Topology {
	b := NewBuilder()
	b.DeclareStore("customers")
	b.DeclareStore("order-counts")

	describeSource(b, "orders-source", "orders", "orders-eu")
	describeProcessor(b, "validate", "orders-source")
	describeProcessor(b, "enrich", "validate")
	describeProcessor(b, "audit", "validate")
	describeProcessor(b, "merge", "enrich", "audit")
	describeSink(b, "audit-sink", "audit-log", "audit")
	AddSink(b, "route-sink", Sink[string, string]{
		TopicExtractor: func(r Record[string, string]) (string, error) { return "region-" + r.Key, nil },
		KeySerde:       serde.String(),
		ValueSerde:     serde.String(),
	}, "merge")
	describeSink(b, "repartition-sink", "orders-by-region-repartition", "merge")
	describeSource(b, "customers-source", "customers")
	describeProcessor(b, "customers-table", "customers-source")
	b.ConnectStores("enrich", "customers")
	b.ConnectStores("customers-table", "customers")

	describeSource(b, "repartition-source", "orders-by-region-repartition")
	describeProcessor(b, "count", "repartition-source")
	b.ConnectStores("count", "order-counts")
	describeProcessor(b, "peek", "count")
	describeSink(b, "counts-sink", "order-counts-by-region", "count")
	return mustBuild(t, b)
}

const simpleText = `Topologies:
   Sub-topology: 0
    Source: KSTREAM-SOURCE-0000000000 (topics: [input])
      --> KSTREAM-FILTER-0000000001
    Processor: KSTREAM-FILTER-0000000001 (stores: [])
      --> KSTREAM-MAPVALUES-0000000002
      <-- KSTREAM-SOURCE-0000000000
    Processor: KSTREAM-MAPVALUES-0000000002 (stores: [])
      --> KSTREAM-SINK-0000000003
      <-- KSTREAM-FILTER-0000000001
    Sink: KSTREAM-SINK-0000000003 (topic: output)
      <-- KSTREAM-MAPVALUES-0000000002

`

func TestDescribeStringSimple(t *testing.T) {
	got := simpleTopology(t).Describe().String()
	if got != simpleText {
		t.Errorf("String() =\n%s\nwant\n%s\n(quoted: %q)", got, simpleText, got)
	}
}

func TestDescribeGolden(t *testing.T) {
	d := complexTopology(t).Describe()
	for _, tc := range []struct {
		file string
		got  string
	}{
		{"describe_complex.txt", d.String()},
		{"describe_complex.dot", d.DOT()},
		{"describe_complex.mmd", d.Mermaid()},
	} {
		t.Run(tc.file, func(t *testing.T) {
			path := filepath.Join("testdata", tc.file)
			if *update {
				if err := os.MkdirAll("testdata", 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte(tc.got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if tc.got != string(want) {
				t.Errorf("output differs from %s (run go test -update to rewrite it)\ngot:\n%s\nwant:\n%s", path, tc.got, want)
			}
		})
	}
}

func TestDescribeStructure(t *testing.T) {
	d := complexTopology(t).Describe()
	if len(d.Subtopologies) != 2 {
		t.Fatalf("got %d sub-topologies, want 2", len(d.Subtopologies))
	}
	var order [][]string
	nodes := map[string]NodeDescription{}
	for i, st := range d.Subtopologies {
		if st.ID != i {
			t.Errorf("sub-topology %d has ID %d", i, st.ID)
		}
		var names []string
		for _, n := range st.Nodes {
			names = append(names, n.Name)
			nodes[n.Name] = n
		}
		order = append(order, names)
	}
	// Kafka's NodeComparator: more paths below first, then by name.
	wantOrder := [][]string{
		{"orders-source", "validate", "audit", "enrich", "merge", "customers-source",
			"audit-sink", "customers-table", "repartition-sink", "route-sink"},
		{"repartition-source", "count", "counts-sink", "peek"},
	}
	if !slices.EqualFunc(order, wantOrder, slices.Equal) {
		t.Errorf("node order = %q, want %q", order, wantOrder)
	}

	check := func(name string, want NodeDescription) {
		t.Helper()
		got, ok := nodes[name]
		if !ok {
			t.Errorf("node %q missing", name)
			return
		}
		want.Name = name
		if fmt.Sprintf("%#v", got) != fmt.Sprintf("%#v", want) {
			t.Errorf("node %q =\n%#v\nwant\n%#v", name, got, want)
		}
	}
	check("orders-source", NodeDescription{Kind: KindSource, Topics: []string{"orders", "orders-eu"}, Successors: []string{"validate"}})
	check("validate", NodeDescription{Kind: KindProcessor, Predecessors: []string{"orders-source"}, Successors: []string{"audit", "enrich"}})
	check("enrich", NodeDescription{Kind: KindProcessor, Stores: []string{"customers"}, Predecessors: []string{"validate"}, Successors: []string{"merge"}})
	check("merge", NodeDescription{Kind: KindProcessor, Predecessors: []string{"audit", "enrich"}, Successors: []string{"repartition-sink", "route-sink"}})
	check("route-sink", NodeDescription{Kind: KindSink, TopicExtractor: "TopicExtractor", Predecessors: []string{"merge"}})
	check("audit-sink", NodeDescription{Kind: KindSink, Topics: []string{"audit-log"}, Predecessors: []string{"audit"}})
	check("peek", NodeDescription{Kind: KindProcessor, Predecessors: []string{"count"}})
	check("count", NodeDescription{Kind: KindProcessor, Stores: []string{"order-counts"}, Predecessors: []string{"repartition-source"}, Successors: []string{"counts-sink", "peek"}})
}

func TestDescribeIsACopy(t *testing.T) {
	top := complexTopology(t)
	d := top.Describe()
	d.Subtopologies[0].Nodes[0].Topics[0] = "changed"
	d.Subtopologies[0].Nodes[1].Successors[0] = "changed"
	if again := top.Describe().String(); strings.Contains(again, "changed") {
		t.Errorf("changing a Description changed the topology:\n%s", again)
	}
}

func TestDescribeNodeText(t *testing.T) {
	for _, tc := range []struct {
		n    NodeDescription
		want string
	}{
		{NodeDescription{Name: "s", Kind: KindSource, Topics: []string{"a", "b"}},
			"Source: s (topics: [a, b])\n      --> none"},
		{NodeDescription{Name: "p", Kind: KindProcessor, Stores: []string{"x", "y"}, Predecessors: []string{"s"}, Successors: []string{"c1", "c2"}},
			"Processor: p (stores: [x, y])\n      --> c1, c2\n      <-- s"},
		{NodeDescription{Name: "p", Kind: KindProcessor},
			"Processor: p (stores: [])\n      --> none\n      <-- none"},
		{NodeDescription{Name: "k", Kind: KindSink, Topics: []string{"out"}, Predecessors: []string{"p1", "p2"}},
			"Sink: k (topic: out)\n      <-- p1, p2"},
		{NodeDescription{Name: "k", Kind: KindSink, TopicExtractor: "Router", Predecessors: []string{"p"}},
			"Sink: k (extractor class: Router)\n      <-- p"},
	} {
		if got := tc.n.String(); got != tc.want {
			t.Errorf("String() = %q, want %q", got, tc.want)
		}
	}
	st := SubtopologyDescription{ID: 3, Nodes: []NodeDescription{{Name: "s", Kind: KindSource, Topics: []string{"a"}}}}
	if got, want := fmt.Sprint(st), "Sub-topology: 3\n    Source: s (topics: [a])\n      --> none\n\n"; got != want {
		t.Errorf("sub-topology = %q, want %q", got, want)
	}
	if got := (&Description{}).String(); got != "Topologies:\n " {
		t.Errorf("empty description = %q, want Kafka's %q", got, "Topologies:\n ")
	}
	for k, want := range map[NodeKind]string{KindSource: "Source", KindProcessor: "Processor", KindSink: "Sink", 0: "NodeKind(0)"} {
		if got := k.String(); got != want {
			t.Errorf("NodeKind(%d).String() = %q, want %q", int(k), got, want)
		}
	}
}

// TestDescribeSecondSubtopologyIndent pins Kafka's quirk: "Topologies:\n "
// then "  " before each sub-topology, so the first is indented by three
// spaces and the rest by two.
func TestDescribeSecondSubtopologyIndent(t *testing.T) {
	s := complexTopology(t).Describe().String()
	if !strings.HasPrefix(s, "Topologies:\n   Sub-topology: 0\n") {
		t.Errorf("first sub-topology line wrong:\n%s", s)
	}
	if !strings.Contains(s, "\n\n  Sub-topology: 1\n") {
		t.Errorf("second sub-topology line wrong:\n%s", s)
	}
	if !strings.HasSuffix(s, "\n\n") {
		t.Errorf("output does not end with an empty line: %q", s)
	}
}

// allEdges returns every parent -> child edge of d.
func allEdges(d *Description) [][2]string {
	var out [][2]string
	for _, st := range d.Subtopologies {
		for _, n := range st.Nodes {
			for _, c := range n.Successors {
				out = append(out, [2]string{n.Name, c})
			}
		}
	}
	return out
}

// balanced reports whether the braces of a DOT text outside quoted strings
// are balanced.
func balanced(s string) bool {
	depth, inQuote := 0, false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case inQuote && c == '\\':
			i++
		case c == '"':
			inQuote = !inQuote
		case !inQuote && c == '{':
			depth++
		case !inQuote && c == '}':
			depth--
			if depth < 0 {
				return false
			}
		}
	}
	return depth == 0 && !inQuote
}

func TestDOTStructure(t *testing.T) {
	for _, tc := range []struct {
		name string
		top  *Topology
	}{{"simple", simpleTopology(t)}, {"complex", complexTopology(t)}} {
		t.Run(tc.name, func(t *testing.T) {
			d := tc.top.Describe()
			dot := d.DOT()
			if !strings.HasPrefix(dot, "digraph topology {\n") || !strings.HasSuffix(dot, "}\n") {
				t.Errorf("not a digraph:\n%s", dot)
			}
			if !balanced(dot) {
				t.Errorf("unbalanced braces or quotes:\n%s", dot)
			}
			if got := strings.Count(dot, "subgraph cluster_"); got != len(d.Subtopologies) {
				t.Errorf("%d clusters, want %d", got, len(d.Subtopologies))
			}
			for _, st := range d.Subtopologies {
				if !strings.Contains(dot, fmt.Sprintf("subgraph cluster_%d {", st.ID)) {
					t.Errorf("no cluster for sub-topology %d", st.ID)
				}
				for _, n := range st.Nodes {
					if !strings.Contains(dot, fmt.Sprintf("%q [", n.Name)) {
						t.Errorf("node %q not declared", n.Name)
					}
					for _, topic := range n.Topics {
						e := fmt.Sprintf("%q -> %q", "topic:"+topic, n.Name)
						if n.Kind == KindSink {
							e = fmt.Sprintf("%q -> %q", n.Name, "topic:"+topic)
						}
						if !strings.Contains(dot, e) {
							t.Errorf("topic edge %s missing", e)
						}
					}
					for _, s := range n.Stores {
						if !strings.Contains(dot, fmt.Sprintf("%q [shape=cylinder", "store:"+s)) {
							t.Errorf("store %q not drawn as a cylinder", s)
						}
						if !strings.Contains(dot, fmt.Sprintf("%q -> %q", n.Name, "store:"+s)) {
							t.Errorf("store %q not linked to %q", s, n.Name)
						}
					}
				}
			}
			for _, e := range allEdges(d) {
				if !strings.Contains(dot, fmt.Sprintf("%q -> %q;", e[0], e[1])) {
					t.Errorf("edge %q -> %q missing", e[0], e[1])
				}
			}
		})
	}
}

var mermaidNodeLine = regexp.MustCompile(`^\s*(n\d+)[\[(]+"([^"]*)"[\])]+$`)

func TestMermaidStructure(t *testing.T) {
	for _, tc := range []struct {
		name string
		top  *Topology
	}{{"simple", simpleTopology(t)}, {"complex", complexTopology(t)}} {
		t.Run(tc.name, func(t *testing.T) {
			d := tc.top.Describe()
			m := d.Mermaid()
			lines := strings.Split(strings.TrimSuffix(m, "\n"), "\n")
			if lines[0] != "flowchart TB" {
				t.Errorf("first line %q, want flowchart TB", lines[0])
			}
			subgraphs, ends := 0, 0
			ids := map[string]string{}
			edges := map[string]bool{}
			for _, l := range lines {
				l = strings.TrimSpace(l)
				switch {
				case strings.HasPrefix(l, "subgraph "):
					subgraphs++
				case l == "end":
					ends++
				case strings.Contains(l, " --> "):
					edges[l] = true
				}
				if sm := mermaidNodeLine.FindStringSubmatch(l); sm != nil {
					if old, dup := ids[sm[2]]; dup {
						t.Errorf("node %q declared as %s and %s", sm[2], old, sm[1])
					}
					ids[sm[2]] = sm[1]
				}
			}
			if subgraphs != len(d.Subtopologies) || ends != subgraphs {
				t.Errorf("%d subgraphs and %d ends, want %d of each:\n%s", subgraphs, ends, len(d.Subtopologies), m)
			}
			for _, st := range d.Subtopologies {
				if !strings.Contains(m, fmt.Sprintf("subgraph sub%d[\"Sub-topology %d\"]", st.ID, st.ID)) {
					t.Errorf("no subgraph for sub-topology %d", st.ID)
				}
				for _, n := range st.Nodes {
					if ids[n.Name] == "" {
						t.Errorf("node %q not declared:\n%s", n.Name, m)
					}
				}
			}
			for _, e := range allEdges(d) {
				if l := ids[e[0]] + " --> " + ids[e[1]]; !edges[l] {
					t.Errorf("edge %q -> %q (%s) missing", e[0], e[1], l)
				}
			}
		})
	}
}

func TestDiagramEscaping(t *testing.T) {
	b := NewBuilder()
	odd := `src "quoted" #1 <x> {y} \n`
	describeSource(b, odd, `topic"a`)
	describeProcessor(b, "topic:topic\"a", odd) // collides with the DOT ID the topic would get
	describeSink(b, "sink`1", "out", "topic:topic\"a")
	d := mustBuild(t, b).Describe()

	dot := d.DOT()
	if !balanced(dot) {
		t.Errorf("DOT unbalanced:\n%s", dot)
	}
	if !strings.Contains(dot, `"src \"quoted\" #1 <x> {y} \\n" -> "topic:topic\"a";`) {
		t.Errorf("source edge not escaped as expected:\n%s", dot)
	}
	if !strings.Contains(dot, `"topic:topic\"a~2" -> "src \"quoted\" #1 <x> {y} \\n";`) {
		t.Errorf("topic ID should avoid the node name it collides with:\n%s", dot)
	}

	m := d.Mermaid()
	for _, want := range []string{
		`n0(["src #quot;quoted#quot; #35;1 #lt;x#gt; {y} \n"])`,
		`n2[["sink#96;1"]]`,
		`t0[/"topic#quot;a"/]`,
	} {
		if !strings.Contains(m, want) {
			t.Errorf("Mermaid lacks %s:\n%s", want, m)
		}
	}
	for _, l := range strings.Split(m, "\n") {
		// Outside the label quotes, a line holds only IDs and syntax.
		parts := strings.Split(l, `"`)
		if len(parts)%2 == 0 {
			t.Errorf("odd number of quotes in %q", l)
		}
		for i := 0; i < len(parts); i += 2 {
			syntax := strings.NewReplacer("-->", "", "-.->", "").Replace(parts[i])
			if strings.ContainsAny(syntax, "#<>`") && !strings.Contains(syntax, "classDef") {
				t.Errorf("unescaped character outside a label in %q", l)
			}
		}
	}
}

func ExampleTopology_Describe() {
	b := NewBuilder()
	AddSource(b, "KSTREAM-SOURCE-0000000000", Source[string, string]{
		Topics: []string{"input"}, KeySerde: serde.String(), ValueSerde: serde.String(),
	})
	AddProcessor(b, "KSTREAM-FILTER-0000000001", newDescribePassthrough, "KSTREAM-SOURCE-0000000000")
	AddProcessor(b, "KSTREAM-MAPVALUES-0000000002", newDescribePassthrough, "KSTREAM-FILTER-0000000001")
	AddSink(b, "KSTREAM-SINK-0000000003", Sink[string, string]{
		Topic: "output", KeySerde: serde.String(), ValueSerde: serde.String(),
	}, "KSTREAM-MAPVALUES-0000000002")
	top, err := b.Build()
	if err != nil {
		panic(err)
	}
	fmt.Print(top.Describe())
	// Output:
	// Topologies:
	//    Sub-topology: 0
	//     Source: KSTREAM-SOURCE-0000000000 (topics: [input])
	//       --> KSTREAM-FILTER-0000000001
	//     Processor: KSTREAM-FILTER-0000000001 (stores: [])
	//       --> KSTREAM-MAPVALUES-0000000002
	//       <-- KSTREAM-SOURCE-0000000000
	//     Processor: KSTREAM-MAPVALUES-0000000002 (stores: [])
	//       --> KSTREAM-SINK-0000000003
	//       <-- KSTREAM-FILTER-0000000001
	//     Sink: KSTREAM-SINK-0000000003 (topic: output)
	//       <-- KSTREAM-MAPVALUES-0000000002
}
