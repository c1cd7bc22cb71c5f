package jobfs_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// fileCalls are the calls that reach a file by path. Outside package
// jobfs, bumpserve's code may make them only where the allowlist below
// says why the path is not inside a job directory (or, for the sandbox,
// why it is safe there).
var fileCalls = map[string][]string{
	"os": {"Open", "OpenFile", "Create", "CreateTemp", "ReadFile", "WriteFile", "Rename", "Remove",
		"RemoveAll", "Stat", "Lstat", "ReadDir", "Mkdir", "MkdirAll", "MkdirTemp", "Chmod", "Chown",
		"Lchown", "Chtimes", "Symlink", "Link", "Readlink", "Truncate", "DirFS", "OpenRoot", "OpenInRoot", "CopyFS"},
	"path/filepath": {"Walk", "WalkDir", "Glob", "EvalSymlinks"},
	"io/ioutil":     {"ReadFile", "WriteFile", "ReadDir", "TempDir", "TempFile"},
	"syscall":       {"Open", "Openat", "Creat", "Unlink", "Unlinkat", "Rename", "Renameat", "Mkdir", "Mkdirat", "Rmdir", "Link", "Symlink", "Truncate", "Chown", "Lchown", "Fchownat", "Stat", "Lstat", "Mknod"},
	"golang.org/x/sys/unix": {"Open", "Openat", "Openat2", "Creat", "Unlink", "Unlinkat", "Rename", "Renameat", "Renameat2",
		"Mkdir", "Mkdirat", "Rmdir", "Link", "Linkat", "Symlink", "Symlinkat", "Truncate", "Chown", "Lchown", "Fchownat",
		"Stat", "Lstat", "Fstatat", "Mknod", "Mknodat"},
}

// allowed lists, by file or file#function, the file calls that do not go
// through the door, with the reason. Keep it short and justified.
var allowed = map[string]string{
	// The door itself.
	"internal/jobfs/": "the one door",
	// Not job files.
	"internal/controller/controller.go#Open":      "the data directory",
	"internal/controller/users.go":                "the admin token file in the data directory",
	"internal/diskspace/diskspace.go":             "the space reserve files at the top of the data directory",
	"internal/proc/proc.go#stat":                  "/proc/PID/stat",
	"internal/proc/proc.go#GroupCPU":              "/proc",
	"internal/jobdir/jobdir.go#Open":              "makes the data directory's jobs/, tmp/, trash/",
	"internal/jobdir/jobdir.go#Stage":             "a new staging directory in <data>/tmp",
	"internal/jobdir/jobdir.go#Adopt":             "moves a staging directory to <data>/jobs/<id>, as a whole",
	"internal/jobdir/jobdir.go#Remove":            "moves <data>/jobs/<id> to the trash, as a whole",
	"internal/server/workerapi.go#stageJobOutput": "a new, randomly named upload directory (O_EXCL) in the root-owned job directory",
	"internal/worker/resume.go#jobDirs":           "lists the work directory's jobs/",
	"internal/testenv/":                           "test support",
	"internal/store/postgres/pgtest/":             "test support: a throwaway PostgreSQL cluster's own directory",
	"internal/bench/":                             "benchmarks' own temporary directories",
	"client/":                                     "the user's own files on the client's machine",
	"cmd/bumpserve/user.go":                       "the data directory",
	"cmd/bumpserve/fit.go":                        "a local fit's spec and output directory, the user's own",
	"cmd/bumpserve/flags.go":                      "the config file",
	"cmd/bumpserve/bench.go":                      "the CPU profile",
	"cmd/bumpserve/jobs.go":                       "a download's destination (-o), the user's own",
	"cmd/bumpserve/download.go":                   "the download directory on the user's machine, the user's own",
	"cmd/bumpserve/submit.go":                     "the user's spec and upload files",
	"cmd/bumpserve/submit_bumps.go#warnUnsent":    "the user's model script, read on their machine before it is sent",
	// The native fit runs in the server process and starts no process:
	// no job code ever had output/, and input/ is the uploads (never
	// writable by a job; os.Root keeps the names inside).
	"fit/output.go#WriteOutputs":        "the native fit's results in a fresh output/",
	"fit/plotstyle.go#writeFile":        "the native fit's plots in a fresh output/",
	"cmd/bumpserve/serve.go#fileExists": "whether the admin token file exists in the data directory, for the ready line; not a job's file",
	"fit/data.go#scanFile":              "uploaded datasets in input/, through os.Root",
	"fit/internal/":                     "developer tools run by hand",
	// The sandbox runs the job; these are host files (cgroups, /proc,
	// the helper) or the job's new mount namespace being built.
	"internal/sandbox/claim.go":       "uid-range claims in /run/bumpserve/uids and /proc/self/cmdline",
	"internal/sandbox/cgroup.go":      "cgroup files",
	"internal/sandbox/probe.go":       "/proc/self/status",
	"internal/sandbox/rlimit.go":      "/proc",
	"internal/sandbox/landlock.go":    "system paths for the job's Landlock rules",
	"internal/sandbox/mountns.go":     "builds the job's mount namespace, in the helper before exec",
	"internal/sandbox/helper.go":      "the job's cgroup.procs, in the helper before exec",
	"internal/sandbox/sandbox.go#New": "the sandbox helper binary",
	// The sandbox gives output/ and tmp/ to the job's uid before each run
	// (Lchown, WalkDir follows no link) and measures their size while
	// it runs (Lstat only, nothing opened): metadata, never content.
	"internal/sandbox/users.go#chownTree": "Lchown before the job runs, no link followed",
	"internal/sandbox/disk.go#diskUsage":  "Lstat sizes while the job runs, nothing opened",

	// Batch job documents, the job directories' first mkdirs and sweep, the token stamp.
	"cmd/bumpserve/submit_batch.go#batchDocument":          "the user's batch job document",
	"internal/jobdir/jobdir.go#JobIDs":                     "lists the names in <data>/jobs/, opening none",
	"internal/jobdir/jobdir.go#Prepare":                    "makes a job's directory, and output/ inside it, when the directory did not exist: nothing of a job's is there",
	"internal/store/sqlite/authversion.go#AuthVersion":     "the store's own auth stamp beside the database",
	"internal/store/sqlite/authversion.go#bumpAuthVersion": "the store's own auth stamp beside the database",
	"cmd/bumpserve/group.go#runGroup":                      "whether the data directory holds a database",
	"cmd/bumpserve/notify_flags.go#config":                 "the operator's CA file for webhooks (--notify-ca)",
	"internal/mpi/mpi.go#Installed":                        "whether Debian's mpi4py and dill modules are installed",
}

// TestOneDoorToJobFiles fails the build when code outside package jobfs
// reaches a file by path without an entry in allowed: every access to a
// job's directories must go through the door.
func TestOneDoorToJobFiles(t *testing.T) {
	root, _ := filepath.Abs("../..")
	used := map[string]bool{}
	fset := token.NewFileSet()
	for _, top := range []string{"internal", "cmd", "client", "api", "mapper", "fit"} {
		filepath.WalkDir(filepath.Join(root, top), func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
				return nil
			}
			rel, _ := filepath.Rel(root, p)
			f, err := parser.ParseFile(fset, p, nil, 0)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range fileCallsIn(f) {
				key, ok := allowedKey(rel, c.fn)
				if ok {
					used[key] = true
					continue
				}
				t.Errorf("%s: %s.%s in %s reaches a file by path: go through internal/jobfs, or add %q to the allowlist with the reason it is not a job's file",
					fset.Position(c.pos), c.pkg, c.name, c.fn, rel+"#"+c.fn)
			}
			return nil
		})
	}
	for k := range allowed {
		if !used[k] && !strings.HasSuffix(k, "/") {
			t.Errorf("allowlist entry %q matches no call: remove it", k)
		}
	}
}

func allowedKey(rel, fn string) (string, bool) {
	for _, k := range []string{rel + "#" + fn, rel} {
		if _, ok := allowed[k]; ok {
			return k, true
		}
	}
	for k := range allowed {
		if strings.HasSuffix(k, "/") && strings.HasPrefix(rel, k) {
			return k, true
		}
	}
	return "", false
}

type fileCall struct {
	pos           token.Pos
	pkg, name, fn string
}

// fileCallsIn finds the uses of file calls in f, with the function they are in.
func fileCallsIn(f *ast.File) []fileCall {
	imports := map[string]string{} // local name -> import path
	for _, im := range f.Imports {
		p, _ := strconv.Unquote(im.Path.Value)
		name := p[strings.LastIndex(p, "/")+1:]
		if im.Name != nil {
			name = im.Name.Name
		}
		imports[name] = p
	}
	var out []fileCall
	for _, decl := range f.Decls {
		fd, ok := decl.(*ast.FuncDecl)
		if !ok {
			// Package-level initialisers count as their file's.
			ast.Inspect(decl, func(n ast.Node) bool { out = appendCall(out, n, imports, ""); return true })
			continue
		}
		ast.Inspect(fd, func(n ast.Node) bool { out = appendCall(out, n, imports, fd.Name.Name); return true })
	}
	return out
}

func appendCall(out []fileCall, n ast.Node, imports map[string]string, fn string) []fileCall {
	// Any use, call or function value (os.Remove passed as a func).
	sel, ok := n.(*ast.SelectorExpr)
	if !ok {
		return out
	}
	id, ok := sel.X.(*ast.Ident)
	if !ok || id.Obj != nil { // a local variable, not a package
		return out
	}
	p := imports[id.Name]
	if slices.Contains(fileCalls[p], sel.Sel.Name) {
		out = append(out, fileCall{pos: sel.Pos(), pkg: p, name: sel.Sel.Name, fn: fn})
	}
	return out
}
