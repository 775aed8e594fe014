package demo

import (
	"crypto/rand"
	"fmt"
	"net/http"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// app is the API itself: data, keys, limiters, log, and the mode that decides between the
// flawed and the fixed behaviour of every handler.
type app struct {
	hardened bool
	store    *store
	logs     *LogBuffer
	log      *auditLog
	spec     spec
	// secret signs tokens: 32 random bytes in hardened mode, weakSecret otherwise.
	secret []byte
	// loginLimit counts failed logins: per username in hardened mode, per X-Forwarded-For
	// value in vulnerable mode.
	loginLimit *limiter
	// apiLimit is the hardened mode's general limit, per client and route.
	apiLimit *limiter
	// sunset is when the deprecated operations go away, always in the future.
	sunset time.Time
}

// The limits: 5 failed logins per key in 5 minutes; in hardened mode also 60 requests per
// client and route in 10 seconds, enough for a scan's ordinary traffic to one operation and
// too few for a burst of 100.
const (
	loginQuota  = 5
	loginWindow = 5 * time.Minute
	apiQuota    = 60
	apiWindow   = 10 * time.Second
)

func newApp(opts Options) (*app, error) {
	cost := bcrypt.MinCost
	if opts.Hardened {
		cost = bcrypt.DefaultCost
	}
	st, err := newStore(cost)
	if err != nil {
		return nil, err
	}
	sp, err := loadSpec(opts.Hardened)
	if err != nil {
		return nil, err
	}
	logs := newLogBuffer(opts.LogOutput)
	a := &app{
		hardened:   opts.Hardened,
		store:      st,
		logs:       logs,
		log:        newAuditLog(opts.Hardened, logs),
		spec:       sp,
		secret:     []byte(weakSecret),
		loginLimit: newLimiter("login", loginQuota, loginWindow),
		apiLimit:   newLimiter("default", apiQuota, apiWindow),
		sunset:     sunsetDate(time.Now()),
	}
	if opts.Hardened {
		a.secret = make([]byte, 32)
		if _, err := rand.Read(a.secret); err != nil {
			return nil, fmt.Errorf("demo: token key: %w", err)
		}
	}
	return a, nil
}

// deprecatedSince is when the deprecated operations were deprecated (2026-01-01T00:00Z).
var deprecatedSince = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// sunsetDate is the first day of the month six months from now: announced well ahead, and
// never in the past however long a demo server runs.
func sunsetDate(now time.Time) time.Time {
	now = now.UTC()
	return time.Date(now.Year(), now.Month()+7, 1, 0, 0, 0, 0, time.UTC)
}

// route is one operation: a net/http pattern and its handler.
type route struct {
	pattern string
	handle  http.HandlerFunc
}

// routeTable lists every operation, in the order of openapi.yaml.
func (a *app) routeTable() []route {
	return []route{
		{"GET /health", a.health},
		{"GET /openapi.json", a.openapiJSON},
		{"GET /openapi.yaml", a.openapiYAML},
		{"POST /api/login", a.login},
		{"POST /api/signup", a.signup},
		{"GET /api/me", a.authed(a.getMe)},
		{"PATCH /api/me", a.authed(a.patchMe)},
		{"GET /api/v2/orders", a.authed(a.listOrders)},
		{"POST /api/v2/orders", a.authed(a.createOrder)},
		{"GET /api/v2/orders/export", a.authed(a.exportOrders)},
		{"GET /api/v2/orders/{id}", a.authed(a.getOrder)},
		{"PUT /api/v2/orders/{id}", a.authed(a.replaceOrder)},
		{"PATCH /api/v2/orders/{id}", a.authed(a.patchOrder)},
		{"DELETE /api/v2/orders/{id}", a.authed(a.deleteOrder)},
		{"GET /api/v2/users", a.authed(a.listUsers)},
		{"GET /api/v2/products", a.listProducts},
		{"GET /api/v2/search", a.authed(a.search)},
		{"GET /api/v1/orders", a.legacy(a.listOrdersV1)},
		{"GET /api/v1/orders/{id}", a.legacy(a.getOrderV1)},
	}
}

func (a *app) routes() *http.ServeMux {
	mux := http.NewServeMux()
	for _, rt := range a.routeTable() {
		mux.HandleFunc(rt.pattern, rt.handle)
	}
	return mux
}

// handler is the whole API with its middleware, outermost first: panic recovery, response
// headers, logging, CORS, rate limiting, then routing.
func (a *app) handler() http.Handler {
	mux := a.routes()
	var h http.Handler = a.route(mux)
	h = a.rateLimit(mux, h)
	h = a.cors(h)
	h = a.logRequests(mux, h)
	h = a.headers(h)
	return a.recoverPanics(h)
}
