package importrules

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// graph maps an import path to the packages it imports directly (non-test
// imports, as `go list` reports them).
type graph map[string][]string

// rule forbids some packages (forbid) to the packages in from. A direct
// rule looks at from's own imports only; otherwise every package from
// reaches through the module's graph counts.
type rule struct {
	name   string
	from   []string // import paths the rule is about
	forbid func(importPath string) bool
	direct bool
	// optional lists the packages of from that may not exist (yet); any
	// other one missing from the graph is a violation: a renamed package
	// must not silently escape its rule.
	optional []string
}

// violation is one forbidden import: pkg reaches forbidden through chain
// (pkg first, forbidden last).
type violation struct {
	rule, pkg, forbidden string
	chain                []string
}

func (v violation) String() string {
	if v.forbidden == "" {
		return fmt.Sprintf("%s: package %s is not in the module's graph (renamed? update the rule)", v.rule, v.pkg)
	}
	return fmt.Sprintf("%s: %s imports %s, via %s", v.rule, v.pkg, v.forbidden, strings.Join(v.chain, " -> "))
}

// check returns r's violations in g, each forbidden package once per
// package of r.from, with the shortest import chain to it. Breadth-first
// search keeps chains short; every reachable forbidden package is
// reported, not only the first on each path.
func check(g graph, r rule) []violation {
	var out []violation
	for _, from := range r.from {
		imports, ok := g[from]
		if !ok {
			if !slices.Contains(r.optional, from) {
				out = append(out, violation{rule: r.name, pkg: from})
			}
			continue
		}
		if r.direct {
			for _, imp := range imports {
				if r.forbid(imp) {
					out = append(out, violation{rule: r.name, pkg: from, forbidden: imp, chain: []string{from, imp}})
				}
			}
			continue
		}
		parent := map[string]string{from: ""}
		queue := []string{from}
		for len(queue) > 0 {
			p := queue[0]
			queue = queue[1:]
			for _, imp := range g[p] {
				if _, seen := parent[imp]; seen {
					continue
				}
				parent[imp] = p
				queue = append(queue, imp)
				if r.forbid(imp) {
					var chain []string
					for q := imp; q != ""; q = parent[q] {
						chain = append(chain, q)
					}
					slices.Reverse(chain)
					out = append(out, violation{rule: r.name, pkg: from, forbidden: imp, chain: chain})
				}
			}
		}
	}
	return out
}

// under matches the packages at or below any of paths.
func under(paths ...string) func(string) bool {
	return func(p string) bool {
		for _, q := range paths {
			if p == q || strings.HasPrefix(p, q+"/") {
				return true
			}
		}
		return false
	}
}

func anyOf(fs ...func(string) bool) func(string) bool {
	return func(p string) bool {
		for _, f := range fs {
			if f(p) {
				return true
			}
		}
		return false
	}
}

// rules is the module's architecture, for the module at path mod.
func rules(mod string) []rule {
	m := func(names ...string) []string {
		out := make([]string, len(names))
		for i, n := range names {
			out[i] = mod + "/" + n
		}
		return out
	}
	engines := m("hotstuff", "pbft", "raft", "qc", "protocol")
	optional := m("protocol") // being introduced; the rule applies once it exists
	return []rule{{
		name:     "engines stay out of the node, the network, the disk and the tools",
		from:     engines,
		forbid:   under(m("node", "p2p", "store", "api", "loadgen", "testnet")...),
		optional: optional,
	}, {
		// Direct imports only: go.etcd.io/raft/v3 (which raft wraps) and
		// log may use the clock or os themselves; what is checked is that
		// the project's engine code does not.
		name:     "engines are deterministic (no clock, network or disk)",
		from:     engines,
		forbid:   anyOf(under("net", "os"), func(p string) bool { return p == "time" }),
		direct:   true,
		optional: optional,
	}, {
		name: "node depends on no simulator",
		from: m("node"),
		forbid: anyOf(under(m("testnet")...), func(p string) bool {
			return strings.HasPrefix(p, mod+"/") && strings.HasSuffix(p, "sim")
		}),
	}, {
		name:   "config depends on no engine",
		from:   m("config"),
		forbid: under(m("hotstuff", "pbft", "raft")...),
	}, {
		name:   "loadgen speaks the HTTP API, not node",
		from:   m("loadgen"),
		forbid: under(m("node")...),
	}}
}

// moduleGraph loads the import graph of every package of the module and
// of their dependencies (standard library included) with go list.
func moduleGraph(t *testing.T) (mod string, g graph) {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to list imports: %v", err)
	}
	out, err := exec.Command(goTool, "list", "-m", "-f", "{{.Path}}").Output()
	if err != nil {
		t.Fatalf("go list -m: %v", exitError(err))
	}
	mod = strings.TrimSpace(string(out))
	if mod == "" || strings.Contains(mod, "\n") {
		t.Fatalf("go list -m: want one main module, got %q", mod)
	}
	// -e: a package that fails to load is reported below, rather than
	// hiding the rest of the graph.
	out, err = exec.Command(goTool, "list", "-e", "-deps", "-json=ImportPath,Imports,Error", mod+"/...").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", exitError(err))
	}
	g = graph{}
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p struct {
			ImportPath string
			Imports    []string
			Error      *struct{ Err string }
		}
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("decoding go list's output: %v", err)
		}
		if p.Error != nil {
			// The graph is incomplete: a rule could pass for want of edges.
			t.Errorf("go list: package %s: %s", p.ImportPath, p.Error.Err)
		}
		g[p.ImportPath] = p.Imports
	}
	return mod, g
}

func exitError(err error) error {
	var ee *exec.ExitError
	if errors.As(err, &ee) && len(ee.Stderr) > 0 {
		return fmt.Errorf("%w: %s", err, bytes.TrimSpace(ee.Stderr))
	}
	return err
}

// TestImportRules checks the module against its architecture's rules.
func TestImportRules(t *testing.T) {
	mod, g := moduleGraph(t)
	for _, r := range rules(mod) {
		t.Run(r.name, func(t *testing.T) {
			for _, v := range check(g, r) {
				t.Error(strings.ReplaceAll(v.String(), mod+"/", ""))
			}
		})
	}
}

// TestCheckFlagsViolations is the canary: fed graphs with forbidden edges,
// the same check and rules TestImportRules uses must report them, so a
// passing TestImportRules means something.
func TestCheckFlagsViolations(t *testing.T) {
	const mod = "example.com/m"
	p := func(name string) string { return mod + "/" + name }
	// clean has every package the rules name and only allowed edges.
	clean := func() graph {
		return graph{
			p("hotstuff"): {p("qc"), p("types"), p("protocol"), "fmt"},
			p("pbft"):     {p("qc"), p("types"), p("protocol"), "crypto/sha256"},
			p("raft"):     {p("qc"), p("types"), p("protocol"), "go.etcd.io/raft/v3"},
			p("qc"):       {p("types"), p("crypto")},
			p("protocol"): {p("types"), p("qc"), "math/rand/v2"},
			p("types"):    {p("crypto")},
			p("crypto"):   nil,
			// Dependencies may use the clock: only the engines' own
			// imports are checked for it.
			"go.etcd.io/raft/v3":      {"time", "os"},
			p("node"):                 {p("hotstuff"), p("pbft"), p("raft"), p("p2p"), p("store"), p("api"), "time", "net"},
			p("p2p"):                  {p("types")},
			p("store"):                {p("types"), "os"},
			p("api"):                  {p("types")},
			p("config"):               {p("types"), "time", "os"},
			p("loadgen"):              {p("api"), "net/http"},
			p("testnet/sim"):          {p("node"), p("hotstuff/hotstuffsim")},
			p("hotstuff/hotstuffsim"): {p("hotstuff")},
		}
	}
	for _, tc := range []struct {
		name  string
		edit  func(graph)
		want  []string // "importer forbidden" pairs, in check's order
		chain []string // the first violation's chain, if given
	}{
		{name: "clean graph", edit: func(graph) {}},
		{
			name: "engine imports node, transitively",
			edit: func(g graph) { g[p("qc")] = append(g[p("qc")], p("node")) },
			// hotstuff, pbft and raft reach node through qc; so does
			// protocol; qc itself imports it. node brings p2p, store, api.
			want: []string{
				p("hotstuff") + " " + p("node"), p("hotstuff") + " " + p("p2p"), p("hotstuff") + " " + p("store"), p("hotstuff") + " " + p("api"),
				p("pbft") + " " + p("node"), p("pbft") + " " + p("p2p"), p("pbft") + " " + p("store"), p("pbft") + " " + p("api"),
				p("raft") + " " + p("node"), p("raft") + " " + p("p2p"), p("raft") + " " + p("store"), p("raft") + " " + p("api"),
				p("qc") + " " + p("node"), p("qc") + " " + p("p2p"), p("qc") + " " + p("store"), p("qc") + " " + p("api"),
				p("protocol") + " " + p("node"), p("protocol") + " " + p("p2p"), p("protocol") + " " + p("store"), p("protocol") + " " + p("api"),
			},
			chain: []string{p("hotstuff"), p("qc"), p("node")},
		},
		{
			name: "engine imports time",
			edit: func(g graph) { g[p("pbft")] = append(g[p("pbft")], "time") },
			want: []string{p("pbft") + " time"},
		},
		{
			name: "engine imports net/http and os/exec",
			edit: func(g graph) { g[p("protocol")] = append(g[p("protocol")], "net/http", "os/exec") },
			want: []string{p("protocol") + " net/http", p("protocol") + " os/exec"},
		},
		{
			name: "engine imports a testnet package",
			edit: func(g graph) { g[p("raft")] = append(g[p("raft")], p("testnet/toy")); g[p("testnet/toy")] = nil },
			// node imports raft, so it now reaches testnet too.
			want: []string{p("raft") + " " + p("testnet/toy"), p("node") + " " + p("testnet/toy")},
		},
		{
			name:  "node imports a simulator through a helper",
			edit:  func(g graph) { g[p("store")] = append(g[p("store")], p("pbft/pbftsim")); g[p("pbft/pbftsim")] = nil },
			want:  []string{p("node") + " " + p("pbft/pbftsim")},
			chain: []string{p("node"), p("store"), p("pbft/pbftsim")},
		},
		{
			name: "node imports testnet/sim",
			edit: func(g graph) { g[p("node")] = append(g[p("node")], p("testnet/sim")) },
			// testnet/sim imports node back (a cycle go would refuse,
			// but check must not loop on it) and hotstuffsim.
			want: []string{p("node") + " " + p("testnet/sim"), p("node") + " " + p("hotstuff/hotstuffsim")},
		},
		{
			name: "config imports an engine",
			edit: func(g graph) { g[p("config")] = append(g[p("config")], p("hotstuff")) },
			want: []string{p("config") + " " + p("hotstuff")},
		},
		{
			name: "loadgen imports node through api",
			edit: func(g graph) { g[p("api")] = append(g[p("api")], p("node")) },
			// api is allowed to loadgen; node, which it now reaches, is not.
			want:  []string{p("loadgen") + " " + p("node")},
			chain: []string{p("loadgen"), p("api"), p("node")},
		},
		{
			name: "a ruled package disappears",
			edit: func(g graph) { delete(g, p("pbft")) },
			// Once per engine rule.
			want: []string{p("pbft") + " ", p("pbft") + " "},
		},
		{
			name: "the optional protocol package may be absent",
			edit: func(g graph) {
				delete(g, p("protocol"))
				for _, e := range []string{"hotstuff", "pbft", "raft"} {
					g[p(e)] = slices.DeleteFunc(g[p(e)], func(s string) bool { return s == p("protocol") })
				}
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := clean()
			tc.edit(g)
			var got []string
			var first *violation
			for _, r := range rules(mod) {
				for _, v := range check(g, r) {
					got = append(got, v.pkg+" "+v.forbidden)
					if first == nil {
						first = &v
					}
					if msg := v.String(); !strings.Contains(msg, v.pkg) || !strings.Contains(msg, v.forbidden) ||
						!strings.Contains(msg, strings.Join(v.chain, " -> ")) {
						t.Errorf("message %q does not name %s, %s and the chain %v", msg, v.pkg, v.forbidden, v.chain)
					}
				}
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("violations:\n got %q\nwant %q", got, tc.want)
			}
			if tc.chain != nil && (first == nil || !slices.Equal(first.chain, tc.chain)) {
				t.Errorf("first violation's chain: got %v, want %v", first, tc.chain)
			}
		})
	}
}
