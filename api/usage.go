package api

import "time"

// KeepChange is the body of POST /api/v1/jobs/{id}/keep: true pins the
// job against retention, false lets the cleaner take it again.
type KeepChange struct {
	Keep *bool `json:"keep"`
}

// Usage is the answer of GET /api/v1/usage: per user and per group, the
// CPU time of runs that finished since Since and the disk their jobs
// hold now.
type Usage struct {
	// Since is the start of the period (absent: since the beginning).
	Since *time.Time `json:"since,omitempty"`
	// DiskQuotaBytes is each user's disk quota (serve --user-disk-mb);
	// 0 means none.
	DiskQuotaBytes int64       `json:"disk_quota_bytes"`
	Users          []UserUsage `json:"users"`
	// Groups sums each group's members' lines. A job counts toward every
	// group its owner is in, so groups overlap: their total is not the
	// total of Users.
	Groups []GroupUsage `json:"groups"`
}

// UserUsage is one user's line of a Usage.
type UserUsage struct {
	User string `json:"user"`
	// Runs finished in the period and the CPU they were charged: CPUs
	// held × wall time, in seconds and in hours.
	Runs       int     `json:"runs"`
	CPUSeconds float64 `json:"cpu_seconds"`
	CPUHours   float64 `json:"cpu_hours"`
	// Jobs the user has now and what their directories hold.
	Jobs      int   `json:"jobs"`
	DiskBytes int64 `json:"disk_bytes"`
}

// GroupUsage is one group's line of a Usage: the sums of its members'
// lines, as they are members now.
type GroupUsage struct {
	Group   string   `json:"group"`
	Members []string `json:"members"`
	// Runs, CPU and jobs, disk: as in UserUsage, summed over Members.
	Runs       int     `json:"runs"`
	CPUSeconds float64 `json:"cpu_seconds"`
	CPUHours   float64 `json:"cpu_hours"`
	Jobs       int     `json:"jobs"`
	DiskBytes  int64   `json:"disk_bytes"`
}
