package server

import (
	"cmp"
	"fmt"
	"net/http"
	"strings"
)

// CheckBasePath validates a --base-path value: "" (serve at the root) or
// an absolute path such as /queue, without a trailing slash, query or
// dot segments. It returns the path cleaned of one trailing slash.
func CheckBasePath(p string) (string, error) {
	if p == "" || p == "/" {
		return "", nil
	}
	p = strings.TrimSuffix(p, "/")
	if !strings.HasPrefix(p, "/") {
		return "", fmt.Errorf("base-path: %q must start with a slash (for example /queue)", p)
	}
	for _, seg := range strings.Split(p[1:], "/") {
		if seg == "" || seg == "." || seg == ".." || strings.ContainsAny(seg, "?#%\\ \t") {
			return "", fmt.Errorf("base-path: %q is not a plain path (segments of letters, digits, '-', '_', '.'; for example /queue)", p)
		}
	}
	return p, nil
}

// WithBasePath serves h under base: a request for base/x reaches h as /x,
// and what h answers with points back under base (Location headers and
// cookie paths), the way a proxy's reverse rewriting would. /healthz also
// answers at the root for local probes; any other path outside base is a
// 404 that names the base path. An empty base returns h itself.
func WithBasePath(h http.Handler, base string) http.Handler {
	if base == "" {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rest, ok := strings.CutPrefix(r.URL.Path, base)
		switch {
		case ok && (rest == "" || rest[0] == '/'):
			r2 := r.Clone(r.Context())
			r2.URL.Path = cmp.Or(rest, "/")
			if r.URL.RawPath != "" {
				r2.URL.RawPath = cmp.Or(strings.TrimPrefix(r.URL.RawPath, base), "/")
			}
			r2.RequestURI = r2.URL.RequestURI()
			h.ServeHTTP(&prefixWriter{ResponseWriter: w, base: base}, r2)
		case r.URL.Path == "/healthz":
			h.ServeHTTP(w, r)
		default:
			writeError(w, http.StatusNotFound, "no route %s %s: this server answers under %s/", r.Method, r.URL.Path, base)
		}
	})
}

// prefixWriter puts the base path in front of the site-absolute paths
// handlers write in Location and Set-Cookie headers, so redirects, created
// resources and the session cookie stay under the prefix.
type prefixWriter struct {
	http.ResponseWriter
	base        string
	wroteHeader bool
}

func (p *prefixWriter) WriteHeader(code int) {
	if !p.wroteHeader {
		p.wroteHeader = true
		h := p.Header()
		if loc := h.Get("Location"); strings.HasPrefix(loc, "/") && !strings.HasPrefix(loc, "//") {
			h.Set("Location", p.base+loc)
		}
		if cookies := h.Values("Set-Cookie"); len(cookies) > 0 {
			h.Del("Set-Cookie")
			for _, c := range cookies {
				h.Add("Set-Cookie", prefixCookiePath(c, p.base))
			}
		}
	}
	p.ResponseWriter.WriteHeader(code)
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	if !p.wroteHeader {
		p.WriteHeader(http.StatusOK)
	}
	return p.ResponseWriter.Write(b)
}

// Flush lets event streams through.
func (p *prefixWriter) Flush() {
	if !p.wroteHeader {
		p.WriteHeader(http.StatusOK)
	}
	if f, ok := p.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the real writer.
func (p *prefixWriter) Unwrap() http.ResponseWriter { return p.ResponseWriter }

// prefixCookiePath rewrites a Set-Cookie line's "Path=/x" attribute to
// "Path=BASE/x"; a cookie without a path is left to the browser's
// default, which is already under the prefix.
func prefixCookiePath(line, base string) string {
	parts := strings.Split(line, ";")
	for i, a := range parts {
		name, val, _ := strings.Cut(strings.TrimSpace(a), "=")
		if strings.EqualFold(name, "Path") && strings.HasPrefix(val, "/") {
			parts[i] = " Path=" + base + strings.TrimSuffix(val, "/")
		}
	}
	return strings.Join(parts, ";")
}
