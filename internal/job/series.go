package job

// Series is the part of a parent job that makes it a fit series: one
// model fitted to each of several data files, each fit a child job.
// A parent is never claimed by an executor (it is held); its state
// follows its children (see package series).
type Series struct {
	// Files are the data files, one per child, in series order.
	Files []string `json:"files"`
	// X says where each row's x value comes from: "index" (0, 1, ...),
	// "name:REGEX", a number the regular expression captures from the
	// file name, or "column:N", the mean of a column of the file.
	X string `json:"x,omitempty"`
	// XValues are the rows' x values, worked out at submit.
	XValues []float64 `json:"x_values,omitempty"`
	// Chain starts each fit from the previous one's best parameters;
	// child i+1 is held until child i ends.
	Chain bool `json:"chain,omitempty"`
	// Children are the child jobs' ids in series order; filled when the
	// parent is read, not stored.
	Children []int64 `json:"children,omitempty"`
}
