package api

import _ "embed"

// OpenAPI is the OpenAPI 3.1 description of the whole HTTP API (the JSON
// API, the worker protocol and the old Bumps routes), served at
// GET /api/v1/openapi.json. The server's tests send a request to every
// route and check each answer against it, so it cannot drift from the code.
//
//go:embed openapi.json
var OpenAPI []byte
