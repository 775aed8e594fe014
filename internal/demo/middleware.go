package demo

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"slices"
	"strings"
	"time"
)

// recoverPanics turns a handler panic into a 500. The vulnerable mode writes the panic and
// the goroutine's stack into the response, as a debugging middleware left on in production
// would; the hardened mode logs them and answers a generic problem.
func (a *app) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			p := recover()
			if p == nil {
				return
			}
			if p == http.ErrAbortHandler {
				panic(p) // net/http's own way of cutting a response; not an error
			}
			stack := debug.Stack()
			if !a.hardened {
				w.Header().Set("Content-Type", "text/plain; charset=utf-8")
				w.WriteHeader(http.StatusInternalServerError)
				fmt.Fprintf(w, "panic: %v\n\n%s", p, stack)
				return
			}
			a.log.event(r, slog.LevelError, "server_error", "handler failed",
				slog.String("error", fmt.Sprint(p)), slog.String("stack", string(stack)))
			writeProblem(w, http.StatusInternalServerError, "Internal Server Error",
				"The request could not be completed. Quote the request id when reporting it.")
		}()
		next.ServeHTTP(w, r)
	})
}

// headers sets the response headers every route shares. The vulnerable mode advertises its
// software and versions and sets no protective header; the hardened mode sets nosniff,
// no-store (public routes relax it), framing denial, and HSTS on TLS.
func (a *app) headers(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		if !a.hardened {
			h.Set("Server", "apigate-demo/0.3.1")
			h.Set("X-Powered-By", "Go/1.22")
			next.ServeHTTP(w, r)
			return
		}
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Cache-Control", "no-store")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
		h.Set("Referrer-Policy", "no-referrer")
		if r.TLS != nil {
			h.Set("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
		}
		next.ServeHTTP(w, r)
	})
}

// logRequests writes the request log: the vulnerable mode before the request, with secrets;
// the hardened mode after it, with the status and without secrets.
func (a *app) logRequests(mux *http.ServeMux, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !a.hardened {
			var body []byte
			if r.URL.Path == LoginPath || r.URL.Path == "/api/signup" {
				body, _ = io.ReadAll(io.LimitReader(r.Body, 1<<20))
				r.Body = io.NopCloser(bytes.NewReader(body))
			}
			a.log.request(r, body)
			next.ServeHTTP(w, r)
			return
		}
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r)
		_, pattern := mux.Handler(r)
		a.log.access(r, pattern, rec.status, time.Since(start))
	})
}

// statusRecorder remembers the status a handler wrote.
type statusRecorder struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (s *statusRecorder) WriteHeader(code int) {
	if !s.wrote {
		s.status, s.wrote = code, true
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(p []byte) (int, error) {
	s.wrote = true
	return s.ResponseWriter.Write(p)
}

// trustedOrigin is the one browser origin the hardened mode lets read its responses.
const trustedOrigin = "https://app.example.invalid"

// cors answers preflights and sets the CORS response headers. The public catalogue allows
// any origin without credentials in both modes, which is safe for public data. Elsewhere the
// vulnerable mode reflects any Origin with credentials and no Vary; the hardened mode trusts
// one origin and says Vary: Origin, because its answer depends on it.
func (a *app) cors(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		preflight := r.Method == http.MethodOptions && origin != "" &&
			r.Header.Get("Access-Control-Request-Method") != ""
		h := w.Header()
		if r.URL.Path == "/api/v2/products" {
			h.Set("Access-Control-Allow-Origin", "*")
			if preflight {
				h.Set("Access-Control-Allow-Methods", "GET")
				w.WriteHeader(http.StatusNoContent)
				return
			}
			next.ServeHTTP(w, r)
			return
		}
		allowed := origin != ""
		if a.hardened {
			h.Add("Vary", "Origin")
			allowed = origin == trustedOrigin
		}
		if allowed {
			h.Set("Access-Control-Allow-Origin", origin)
			h.Set("Access-Control-Allow-Credentials", "true")
		}
		if !preflight {
			next.ServeHTTP(w, r)
			return
		}
		if allowed && a.hardened {
			h.Set("Access-Control-Allow-Methods", "GET, POST, PUT, PATCH, DELETE")
			h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, X-Request-ID")
			h.Set("Access-Control-Max-Age", "600")
		} else if allowed {
			h.Set("Access-Control-Allow-Methods", r.Header.Get("Access-Control-Request-Method"))
			if rh := r.Header.Get("Access-Control-Request-Headers"); rh != "" {
				h.Set("Access-Control-Allow-Headers", rh)
			}
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

// rateLimit is the hardened mode's general limit: apiQuota requests per apiWindow per client
// and route template, advertised on every response. The client is the token's user when
// the token is valid, else the connection's address; never X-Forwarded-For, which any
// client can set.
func (a *app) rateLimit(mux *http.ServeMux, next http.Handler) http.Handler {
	if !a.hardened {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, pattern := mux.Handler(r)
		st := a.apiLimit.take(a.clientKey(r) + "\x00" + pattern)
		a.apiLimit.setHeaders(w.Header(), st, st.exceeded)
		if st.exceeded {
			a.log.event(r, slog.LevelWarn, "excess_rate_limit_exceeded", "rate limit exceeded",
				slog.String("route", pattern))
			writeProblemExt(w, http.StatusTooManyRequests, "Too Many Requests",
				"This client sent too many requests to this operation; retry later.",
				"https://iana.org/assignments/http-problem-types#quota-exceeded",
				map[string]any{"violated-policies": []string{a.apiLimit.name}})
			return
		}
		next.ServeHTTP(w, r)
	})
}

// clientKey identifies the caller for rate limiting.
func (a *app) clientKey(r *http.Request) string {
	if tok, ok := bearer(r); ok {
		if c, err := verifyStrict(a.secret, tok, time.Now()); err == nil {
			return "user:" + c.Sub
		}
	}
	return "ip:" + clientIP(r)
}

// clientIP is the address of the connection's peer.
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// route answers requests no operation matches. The vulnerable mode leaves this to
// net/http's plain-text 404 and 405; the hardened mode answers problem details, with Allow
// on a 405.
func (a *app) route(mux *http.ServeMux) http.Handler {
	if !a.hardened {
		return mux
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, pattern := mux.Handler(r); pattern != "" {
			mux.ServeHTTP(w, r)
			return
		}
		var allow []string
		for _, m := range []string{"GET", "POST", "PUT", "PATCH", "DELETE"} {
			probe := r.Clone(r.Context())
			probe.Method = m
			if _, p := mux.Handler(probe); p != "" {
				allow = append(allow, m)
			}
		}
		if len(allow) == 0 {
			writeProblem(w, http.StatusNotFound, "Not Found", "No operation has this path.")
			return
		}
		if slices.Contains(allow, "GET") {
			allow = append(allow, "HEAD")
		}
		w.Header().Set("Allow", strings.Join(allow, ", "))
		writeProblem(w, http.StatusMethodNotAllowed, "Method Not Allowed",
			"This operation does not accept this method.")
	})
}
