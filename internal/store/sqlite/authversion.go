package sqlite

import (
	"context"
	"fmt"
	"os"
	"syscall"
)

// Token caches in servers must hear of a revocation made by any process
// (`bumpserve user revoke` runs beside the server) at once, yet reading
// the database on every request is what the cache is there to avoid. So
// every revocation, after its commit, appends a byte to a stamp file
// beside the database, and the version is the stamp's size (and inode):
// one stat per request, and it only ever grows.
//
// A process killed between the commit and the append leaves the stamp
// unchanged; caches bound how long they trust an entry for that case.

// authStampSuffix names the stamp file: DB + "-auth".
const authStampSuffix = "-auth"

// AuthVersion implements store.UserStore.
func (s *Store) AuthVersion(context.Context) (string, error) {
	fi, err := os.Stat(s.authStamp)
	if os.IsNotExist(err) {
		return "none", nil
	}
	if err != nil {
		return "", fmt.Errorf("auth version: %w", err)
	}
	var ino uint64
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		ino = st.Ino
	}
	return fmt.Sprintf("%d.%d", ino, fi.Size()), nil
}

// bumpAuthVersion tells every cache that a token changed.
func (s *Store) bumpAuthVersion() error {
	f, err := os.OpenFile(s.authStamp, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("auth version: %w", err)
	}
	_, err = f.Write([]byte{'.'})
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("auth version: %w", err)
	}
	return nil
}
