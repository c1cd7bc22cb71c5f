package jobdir

import "github.com/bumpserve/bumpserve/internal/jobfs"

// Records (exit.json, held.json, progress.json, run.json) live in the job
// directory itself, which no job process can write; they are still
// written and read through the one door.
var (
	// WriteJSON writes a record atomically, through a rename, so that a
	// reader, even on another node of a shared file system, never sees
	// half of it.
	WriteJSON = jobfs.WriteJSON
	// ReadJSON reads a record; a missing one wraps fs.ErrNotExist.
	ReadJSON = jobfs.ReadJSON
)
