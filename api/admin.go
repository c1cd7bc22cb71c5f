package api

// PriorityChange is the body of POST /api/v1/jobs/{id}/priority.
type PriorityChange struct {
	Priority *int `json:"priority"`
}

// UserCancel is the answer of POST /api/v1/users/{name}/cancel: the jobs
// cancelled at once (they were PENDING) and those whose executors are
// told to stop (they were ACTIVE).
type UserCancel struct {
	User      string  `json:"user"`
	Cancelled []int64 `json:"cancelled"`
	Stopping  []int64 `json:"stopping"`
}
