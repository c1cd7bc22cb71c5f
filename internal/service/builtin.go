package service

// Builtin is the registry of every service this build runs: the one list
// the controller, `bumpserve worker` and `bumpserve run-job` share.
func Builtin() Registry {
	return NewRegistry(Sleep{}, Fit{}, Bumps{})
}
