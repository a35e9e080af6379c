package main

// The documentation's code is checked here, in the example module, because
// the router snippets need chi and gorilla/mux, which the library's go.mod
// must not name.
//
//   - TestDocSnippets builds every ```go block of README.md and every code
//     block of the package doc (doc.go).
//   - TestDocLinks fails on a [Name] link in the library's doc comments
//     that names nothing.
//   - TestExampleEnvironmentTable checks that the README's table of the
//     example's environment lists exactly the variables this program reads.
//
// The snippet convention (snippetSource):
//
//   - A block that parses as a Go file (it starts with a package clause) is
//     a whole file and is built as it is.
//   - A block that parses as top-level declarations (func, type, var,
//     const) is put in package main as it is, with an empty func main when
//     it declares none.
//   - Any other block is the body of func main.
//   - Such fragments get an import for each name they use as a qualifier
//     and do not declare, from snippetImports (oidcmw, http, log, chi, mux,
//     ...), and a declaration of each placeholder they use and do not
//     declare, from snippetPlaceholders: m (the *oidcmw.Middleware), the
//     handlers home and me, and ctx. Variables a body declares at its top
//     level count as used, so a fragment may show a result it ignores.
//   - In README.md, a block right after the line <!-- snippet: skip --> is
//     not built (pseudo-code, a diff, an output). In doc.go, a code block
//     whose first line is a go command ("go run ...") or starts with "$ " is
//     shell, not Go.
//
// Each snippet is written to a directory of its own under a fresh
// _snippets* directory in this module (the leading underscore keeps it out
// of ./... patterns; the directory is removed at the end) and built with
// "go build", all in parallel.

import (
	"bufio"
	"context"
	"fmt"
	"go/ast"
	"go/build"
	"go/doc"
	"go/doc/comment"
	"go/format"
	"go/parser"
	"go/token"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// repoRoot is the library's directory, the root of the repository.
const repoRoot = ".."

// snippetImports maps the qualifiers a fragment may use to the packages
// they name.
var snippetImports = map[string]string{
	"bytes":      "bytes",
	"context":    "context",
	"errors":     "errors",
	"fmt":        "fmt",
	"io":         "io",
	"json":       "encoding/json",
	"log":        "log",
	"slog":       "log/slog",
	"http":       "net/http",
	"httptest":   "net/http/httptest",
	"url":        "net/url",
	"os":         "os",
	"signal":     "os/signal",
	"strings":    "strings",
	"sync":       "sync",
	"syscall":    "syscall",
	"time":       "time",
	"oidcmw":     "github.com/oidcmw/oidcmw",
	"oidctest":   "github.com/oidcmw/oidcmw/oidctest",
	"redisstore": "github.com/oidcmw/oidcmw/adapters/redisstore",
	"pgxstore":   "github.com/oidcmw/oidcmw/adapters/pgxstore",
	"chi":        "github.com/go-chi/chi/v5",
	"mux":        "github.com/gorilla/mux",
	"redis":      "github.com/redis/go-redis/v9",
	"pgxpool":    "github.com/jackc/pgx/v5/pgxpool",
}

// snippetPlaceholders are the names a fragment may use without declaring
// them: its declaration and the qualifiers that declaration uses.
var snippetPlaceholders = map[string]struct {
	decl    string
	imports []string
}{
	"m":    {"var m *oidcmw.Middleware", []string{"oidcmw"}},
	"home": {"func home(w http.ResponseWriter, r *http.Request) {}", []string{"http"}},
	"me":   {"func me(w http.ResponseWriter, r *http.Request) {}", []string{"http"}},
	"ctx":  {"var ctx = context.Background()", []string{"context"}},
}

// A snippet is one code block of the documentation.
type snippet struct {
	where string // file:line of the block's first line of code
	code  string
}

func TestDocSnippets(t *testing.T) {
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command builds the snippets: %v", err)
	}
	snippets := append(readmeSnippets(t), docSnippets(t)...)
	if len(snippets) == 0 {
		t.Fatal("no snippets found in README.md and doc.go")
	}
	dir, err := os.MkdirTemp(".", "_snippets")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	// At most four builds at a time; each go build is parallel itself.
	// The parallel subtests end before the Cleanup above runs.
	sem := make(chan struct{}, 4)
	for i, s := range snippets {
		t.Run(s.where, func(t *testing.T) {
			t.Parallel()
			src, err := snippetSource(s.code)
			if err != nil {
				t.Fatalf("%s: %v\n%s", s.where, err, numberedLines(s.code))
			}
			pkg := filepath.Join(dir, fmt.Sprintf("s%02d", i))
			if err := os.Mkdir(pkg, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(pkg, "main.go"), []byte(src), 0o644); err != nil {
				t.Fatal(err)
			}
			sem <- struct{}{}
			defer func() { <-sem }()
			ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, goCmd, "build", "-o", os.DevNull, "./"+filepath.ToSlash(pkg))
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("%s does not build (%v):\n%s\nthe file built:\n%s", s.where, err, out, numberedLines(src))
			}
		})
	}
}

// readmeSnippets returns README.md's ```go blocks but those right after
// <!-- snippet: skip -->.
func readmeSnippets(t *testing.T) []snippet {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	var (
		out    []snippet
		in     bool   // inside a fence
		fence  string // the opening fence, with its indentation
		isGo   bool
		skip   bool
		prev   string // the line before the fence
		start  int
		buf    strings.Builder
		indent string
	)
	for i, line := range strings.Split(string(b), "\n") {
		trimmed := strings.TrimSpace(line)
		if !in {
			if strings.HasPrefix(trimmed, "```") {
				in, fence = true, trimmed[:strings.LastIndex(trimmed, "`")+1]
				indent = line[:len(line)-len(strings.TrimLeft(line, " \t"))]
				isGo = strings.TrimSpace(strings.TrimPrefix(trimmed, fence)) == "go"
				skip = prev == "<!-- snippet: skip -->"
				start = i + 2
				buf.Reset()
			}
			prev = trimmed
			continue
		}
		if trimmed == fence {
			if isGo && !skip {
				out = append(out, snippet{fmt.Sprintf("README.md:%d", start), buf.String()})
			}
			in, prev = false, trimmed
			continue
		}
		buf.WriteString(strings.TrimPrefix(line, indent))
		buf.WriteByte('\n')
	}
	if in {
		t.Fatalf("README.md: the fence opened at line %d is not closed", start-1)
	}
	return out
}

// shellLine matches the first line of a shell block in a doc comment.
var shellLine = regexp.MustCompile(`^(\$ |go [a-z]+( |$))`)

// docSnippets returns the Go code blocks of the package doc in doc.go.
func docSnippets(t *testing.T) []snippet {
	t.Helper()
	name := filepath.Join(repoRoot, "doc.go")
	src, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	f, err := parser.ParseFile(token.NewFileSet(), name, src, parser.ParseComments|parser.PackageClauseOnly)
	if err != nil {
		t.Fatal(err)
	}
	if f.Doc == nil {
		t.Fatal("doc.go has no package doc")
	}
	var out []snippet
	for _, b := range new(comment.Parser).Parse(f.Doc.Text()).Content {
		code, ok := b.(*comment.Code)
		if !ok {
			continue
		}
		first, _, _ := strings.Cut(code.Text, "\n")
		if shellLine.MatchString(first) {
			continue
		}
		out = append(out, snippet{"doc.go:" + strconv.Itoa(docLineOf(src, "//\t"+first)), code.Text})
	}
	return out
}

// docLineOf returns the number of the first line of src that is line, or 0.
func docLineOf(src []byte, line string) int {
	sc := bufio.NewScanner(strings.NewReader(string(src)))
	for n := 1; sc.Scan(); n++ {
		if sc.Text() == line {
			return n
		}
	}
	return 0
}

// snippetSource turns a code block into a Go file, following the
// convention in this file's comment.
func snippetSource(code string) (string, error) {
	fset := token.NewFileSet()
	if _, err := parser.ParseFile(fset, "", code, parser.SkipObjectResolution); err == nil {
		return code, nil // a whole file
	}
	const declPrefix, bodyPrefix = "package main\n\n", "package main\n\nfunc main() {\n"
	prefix, wrapped := declPrefix, declPrefix+code
	f, err := parser.ParseFile(fset, "", wrapped, parser.SkipObjectResolution)
	body := err != nil
	if body {
		prefix, wrapped = bodyPrefix, bodyPrefix+code+"\n}\n"
		if f, err = parser.ParseFile(fset, "", wrapped, parser.SkipObjectResolution); err != nil {
			return "", fmt.Errorf("neither a file, nor declarations, nor statements: %v", err)
		}
	}

	declared, used, qualifiers := map[string]bool{}, map[string]bool{}, map[string]bool{}
	imported := map[string]bool{} // import paths of the block's own imports
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.Ident:
			used[n.Name] = true
		case *ast.SelectorExpr:
			if id, ok := n.X.(*ast.Ident); ok {
				qualifiers[id.Name] = true
			}
		case *ast.AssignStmt:
			if n.Tok == token.DEFINE {
				for _, e := range n.Lhs {
					if id, ok := e.(*ast.Ident); ok {
						declared[id.Name] = true
					}
				}
			}
		case *ast.RangeStmt:
			if n.Tok == token.DEFINE {
				for _, e := range []ast.Expr{n.Key, n.Value} {
					if id, ok := e.(*ast.Ident); ok {
						declared[id.Name] = true
					}
				}
			}
		case *ast.ValueSpec:
			for _, id := range n.Names {
				declared[id.Name] = true
			}
		case *ast.TypeSpec:
			declared[n.Name.Name] = true
		case *ast.FuncDecl:
			if n.Recv == nil {
				declared[n.Name.Name] = true
			}
		case *ast.Field:
			for _, id := range n.Names {
				declared[id.Name] = true
			}
		case *ast.ImportSpec:
			p, _ := strconv.Unquote(n.Path.Value)
			imported[p] = true
			if n.Name != nil {
				declared[n.Name.Name] = true
			}
		}
		return true
	})

	imports := map[string]bool{}
	var decls []string
	for name, ph := range snippetPlaceholders {
		if used[name] && !declared[name] {
			decls = append(decls, ph.decl)
			for _, q := range ph.imports {
				imports[snippetImports[q]] = true
			}
		}
	}
	for q := range qualifiers {
		if p, ok := snippetImports[q]; ok && !declared[q] {
			imports[p] = true
		}
	}
	for p := range imported {
		delete(imports, p)
	}

	if body {
		// The body's top-level variables count as used: insert "_ = v"
		// after each statement that declares some, from the last up.
		type insertion struct {
			at   int
			text string
		}
		var ins []insertion
		for _, s := range f.Decls[0].(*ast.FuncDecl).Body.List {
			var names []string
			switch s := s.(type) {
			case *ast.AssignStmt:
				if s.Tok == token.DEFINE {
					for _, e := range s.Lhs {
						if id, ok := e.(*ast.Ident); ok && id.Name != "_" {
							names = append(names, id.Name)
						}
					}
				}
			case *ast.DeclStmt:
				if g, ok := s.Decl.(*ast.GenDecl); ok && g.Tok == token.VAR {
					for _, sp := range g.Specs {
						for _, id := range sp.(*ast.ValueSpec).Names {
							if id.Name != "_" {
								names = append(names, id.Name)
							}
						}
					}
				}
			}
			if len(names) > 0 {
				ins = append(ins, insertion{fset.Position(s.End()).Offset - len(prefix), "; " + blankUses(names)})
			}
		}
		for i := len(ins) - 1; i >= 0; i-- {
			code = code[:ins[i].at] + ins[i].text + code[ins[i].at:]
		}
	}

	var b strings.Builder
	b.WriteString("package main\n\n")
	if len(imports) > 0 {
		b.WriteString("import (\n")
		for _, p := range slices.Sorted(maps.Keys(imports)) {
			fmt.Fprintf(&b, "\t%q\n", p)
		}
		b.WriteString(")\n\n")
	}
	sort.Strings(decls)
	for _, d := range decls {
		b.WriteString(d + "\n\n")
	}
	switch {
	case body:
		b.WriteString("func main() {\n" + code + "\n}\n")
	case declared["main"]:
		b.WriteString(code)
	default:
		b.WriteString(code + "\nfunc main() {}\n")
	}
	src := b.String()
	if formatted, err := format.Source([]byte(src)); err == nil {
		src = string(formatted)
	}
	return src, nil
}

// blankUses returns "_ = a; _ = b" for names a, b.
func blankUses(names []string) string {
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = "_ = " + n
	}
	return strings.Join(parts, "; ")
}

// numberedLines returns src with line numbers, for failure messages.
func numberedLines(src string) string {
	var b strings.Builder
	for i, line := range strings.Split(strings.TrimSuffix(src, "\n"), "\n") {
		fmt.Fprintf(&b, "%4d  %s\n", i+1, line)
	}
	return b.String()
}

// TestDocLinks fails on a doc link ([Name], [Type.Field], [pkg.Name]) in
// the package doc or the doc comment of an exported name (fields and
// interface methods included) of the library's root package that names
// nothing. go/doc/comment turns such a link into plain text, so a renamed
// option would otherwise leave "[Options.Old]" in the docs unnoticed.
func TestDocLinks(t *testing.T) {
	p, err := loadPackageDoc("github.com/oidcmw/oidcmw", repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	var ext sync.Map // import path -> *doc.Package or error, for links to other packages
	resolves := func(l *comment.DocLink) (bool, error) {
		if l.ImportPath == "" {
			return p.Parser().LookupSym(l.Recv, l.Name), nil
		}
		v, ok := ext.Load(l.ImportPath)
		if !ok {
			pkg, err := loadPackageDoc(l.ImportPath, "")
			if err != nil {
				v = err
			} else {
				v = pkg
			}
			ext.Store(l.ImportPath, v)
		}
		switch v := v.(type) {
		case error:
			return false, v
		default:
			if l.Name == "" {
				return true, nil // a link to the package itself
			}
			return v.(*doc.Package).Parser().LookupSym(l.Recv, l.Name), nil
		}
	}
	n := 0
	check := func(where, text string) {
		// A parser that takes every [Name] for a link, known or not.
		pr := p.Parser()
		pr.LookupSym = func(recv, name string) bool { return true }
		for _, l := range docLinksOf(pr.Parse(text)) {
			n++
			ok, err := resolves(l)
			switch {
			case err != nil:
				t.Errorf("%s: %s: %v", where, docLinkText(l), err)
			case !ok:
				t.Errorf("%s: %s names nothing", where, docLinkText(l))
			}
		}
	}

	check("package doc", p.Doc)
	values := func(vs []*doc.Value) {
		for _, v := range vs {
			check(strings.Join(v.Names, ", "), v.Doc)
		}
	}
	funcs := func(fs []*doc.Func) {
		for _, f := range fs {
			name := f.Name
			if f.Recv != "" {
				name = strings.TrimPrefix(f.Recv, "*") + "." + f.Name
			}
			check(name, f.Doc)
		}
	}
	values(p.Consts)
	values(p.Vars)
	funcs(p.Funcs)
	for _, typ := range p.Types {
		check(typ.Name, typ.Doc)
		values(typ.Consts)
		values(typ.Vars)
		funcs(typ.Funcs)
		funcs(typ.Methods)
		for _, s := range typ.Decl.Specs {
			var fields *ast.FieldList
			switch st := s.(*ast.TypeSpec).Type.(type) {
			case *ast.StructType:
				fields = st.Fields
			case *ast.InterfaceType:
				fields = st.Methods
			}
			if fields == nil {
				continue
			}
			for _, fl := range fields.List {
				where := typ.Name
				if len(fl.Names) > 0 {
					where += "." + fl.Names[0].Name
				}
				check(where, fl.Doc.Text())
				check(where, fl.Comment.Text())
			}
		}
	}
	if n == 0 {
		t.Fatal("no doc links found: is the walk broken?")
	}
	t.Logf("%d doc links resolve", n)
}

// loadPackageDoc parses the package at importPath (found from dir) with go/doc.
func loadPackageDoc(importPath, dir string) (*doc.Package, error) {
	var bp *build.Package
	var err error
	if dir != "" {
		bp, err = build.ImportDir(dir, 0)
	} else {
		bp, err = build.Import(importPath, repoRoot, 0)
	}
	if err != nil {
		return nil, err
	}
	fset := token.NewFileSet()
	var files []*ast.File
	for _, name := range bp.GoFiles {
		f, err := parser.ParseFile(fset, filepath.Join(bp.Dir, name), nil, parser.ParseComments|parser.SkipObjectResolution)
		if err != nil {
			return nil, err
		}
		files = append(files, f)
	}
	return doc.NewFromFiles(fset, files, importPath)
}

// docLinksOf returns the doc links of d.
func docLinksOf(d *comment.Doc) []*comment.DocLink {
	var out []*comment.DocLink
	var texts func([]comment.Text)
	texts = func(ts []comment.Text) {
		for _, t := range ts {
			switch t := t.(type) {
			case *comment.DocLink:
				out = append(out, t)
			case *comment.Link:
				texts(t.Text)
			}
		}
	}
	var blocks func([]comment.Block)
	blocks = func(bs []comment.Block) {
		for _, b := range bs {
			switch b := b.(type) {
			case *comment.Paragraph:
				texts(b.Text)
			case *comment.Heading:
				texts(b.Text)
			case *comment.List:
				for _, it := range b.Items {
					blocks(it.Content)
				}
			}
		}
	}
	blocks(d.Content)
	return out
}

func docLinkText(l *comment.DocLink) string {
	s := l.Name
	if l.Recv != "" {
		s = l.Recv + "." + s
	}
	if l.ImportPath != "" {
		s = l.ImportPath + "." + s
	}
	return "[" + strings.TrimSuffix(s, ".") + "]"
}

// envVarForm is the form of an environment variable's name.
var envVarForm = regexp.MustCompile(`^[A-Z][A-Z0-9_]*$`)

// TestExampleEnvironmentTable checks that the README's table of the
// example's environment (the first table under "## The example app")
// names exactly the variables the program reads. Those are the string
// literals of the form envVarForm, in this module's non-test files and
// internal/appenv's, that are
// arguments of a call of a function whose name contains "env" (os.Getenv,
// getenv, appenv.Getenv, appenv.BoolEnv), or that are in the table a range loop walks when
// its body makes such a call (config.go reads its switches so).
func TestExampleEnvironmentTable(t *testing.T) {
	read := map[string]bool{}
	// The example reads its own variables and, through internal/appenv,
	// those it shares with cmd/oidcmw-proxy.
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	shared, err := filepath.Glob(filepath.Join(repoRoot, "internal", "appenv", "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	files = append(files, shared...)
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.CallExpr:
				if isEnvCall(n) {
					for _, a := range n.Args {
						collectEnvNames(a, read, false)
					}
				}
			case *ast.RangeStmt:
				envLoop := false
				ast.Inspect(n.Body, func(n ast.Node) bool {
					if call, ok := n.(*ast.CallExpr); ok && isEnvCall(call) {
						envLoop = true
					}
					return !envLoop
				})
				if envLoop {
					collectEnvNames(n.X, read, true)
				}
			}
			return true
		})
	}
	if len(read) == 0 {
		t.Fatal("found no environment variable the example reads")
	}

	b, err := os.ReadFile(filepath.Join(repoRoot, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	listed := map[string]bool{}
	_, section, ok := strings.Cut(string(b), "\n## The example app\n")
	if !ok {
		t.Fatal(`README.md has no "## The example app" section`)
	}
	tableStarted := false
	cell := regexp.MustCompile("`([^`]*)`")
	for line := range strings.SplitSeq(section, "\n") {
		if !strings.HasPrefix(line, "|") {
			if tableStarted {
				break
			}
			continue
		}
		tableStarted = true
		first := strings.Split(line, "|")[1]
		for _, m := range cell.FindAllStringSubmatch(first, -1) {
			if envVarForm.MatchString(m[1]) {
				listed[m[1]] = true
			}
		}
	}
	for name := range read {
		if !listed[name] {
			t.Errorf("the example reads %s, the README's environment table does not list it", name)
		}
	}
	for name := range listed {
		if !read[name] {
			t.Errorf("the README's environment table lists %s, the example does not read it", name)
		}
	}
}

// isEnvCall reports whether call calls a function whose name contains
// "env", in any case.
func isEnvCall(call *ast.CallExpr) bool {
	var fn string
	switch e := call.Fun.(type) {
	case *ast.Ident:
		fn = e.Name
	case *ast.SelectorExpr:
		fn = e.Sel.Name
	}
	return strings.Contains(strings.ToLower(fn), "env")
}

// collectEnvNames adds to names the string literal e when it has the form
// of a variable's name; deep, the literals anywhere in e.
func collectEnvNames(e ast.Expr, names map[string]bool, deep bool) {
	ast.Inspect(e, func(n ast.Node) bool {
		if lit, ok := n.(*ast.BasicLit); ok && lit.Kind == token.STRING {
			if s, err := strconv.Unquote(lit.Value); err == nil && envVarForm.MatchString(s) {
				names[s] = true
			}
		}
		return deep
	})
}
