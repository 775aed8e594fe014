package demo

import (
	"fmt"
	"net/http"
	"strings"
	"unicode/utf8"
)

func (a *app) health(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (a *app) openapiJSON(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(a.spec.json)
}

func (a *app) openapiYAML(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/yaml")
	_, _ = w.Write(a.spec.yaml)
}

// listProducts is the public catalogue. It carries no credentials and no private data, so
// both modes let any origin read it (CORS "*" without credentials) and let caches keep it.
func (a *app) listProducts(w http.ResponseWriter, r *http.Request) {
	if a.hardened {
		w.Header().Set("Cache-Control", "public, max-age=60")
	}
	writeJSON(w, http.StatusOK, catalogue)
}

// search finds products by name. The vulnerable mode builds its SQL by pasting q between
// quotes, so a quote breaks the statement, and sends the database's error to the client.
// The hardened mode validates q and matches it as a value, never as SQL.
func (a *app) search(w http.ResponseWriter, r *http.Request, u user) {
	q := r.URL.Query().Get("q")
	if !a.hardened {
		if i := strings.IndexAny(q, `'"`); i >= 0 {
			query := "SELECT id, name, price FROM products WHERE name ILIKE '%" + q + "%'"
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.WriteHeader(http.StatusInternalServerError)
			fmt.Fprintf(w, "pq: syntax error at or near \"%s%%'\"\nquery: %s\n", q[i+1:], query)
			return
		}
	} else if n := utf8.RuneCountInString(q); n < 1 || n > 100 {
		a.invalidField(w, r, &fieldError{"q", "must be 1 to 100 characters long"})
		return
	}
	out := []product{}
	for _, p := range catalogue {
		if strings.Contains(strings.ToLower(p.Name), strings.ToLower(q)) {
			out = append(out, p)
		}
	}
	writeJSON(w, http.StatusOK, out)
}
