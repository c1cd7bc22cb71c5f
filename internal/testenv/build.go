package testenv

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// BuildBumpserve builds cmd/bumpserve into a new temporary directory, for
// tests that run it as users and operators do, as separate processes.
// root is the repository's root, relative to the test's package. remove
// deletes the binary and its directory.
func BuildBumpserve(root string) (bin string, remove func(), err error) {
	dir, err := os.MkdirTemp("", "bumpserve-bin-")
	if err != nil {
		return "", nil, err
	}
	bin = filepath.Join(dir, "bumpserve")
	build := exec.Command("go", "build", "-o", bin, "./cmd/bumpserve")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		return "", nil, fmt.Errorf("build bumpserve: %v\n%s", err, out)
	}
	return bin, func() { os.RemoveAll(dir) }, nil
}
