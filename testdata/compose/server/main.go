// Command server is the compose tests' fixture API: a tiny HTTP server built into a
// FROM-scratch image. Its flags make it behave like the broken services the tests need.
package main

import (
	"flag"
	"fmt"
	"log"
	"net/http"
	"os"
	"time"
)

func main() {
	addr := flag.String("addr", "0.0.0.0:8080", "listen address")
	file := flag.String("file", "", "serve this file's content at /mounted")
	crash := flag.Bool("crash", false, "print an error and exit 1 at once")
	never := flag.Bool("never", false, "start, but never listen")
	health := flag.String("health", "", "healthcheck mode: GET this URL and exit 0 on 2xx")
	flag.Parse()

	switch {
	case *health != "":
		os.Exit(healthcheck(*health))
	case *crash:
		log.Print("fixture: fatal: cannot open database: connection refused")
		os.Exit(1)
	case *never:
		log.Print("fixture: waiting forever without listening")
		for {
			time.Sleep(time.Hour)
		}
	}

	if *file != "" {
		// Read at boot, so a bind mount that did not resolve fails the boot loudly.
		b, err := os.ReadFile(*file)
		if err != nil {
			log.Fatalf("fixture: read config: %v", err)
		}
		log.Printf("fixture: config says %q", b)
	}

	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		log.Printf("%s %s from %s", r.Method, r.URL.Path, r.RemoteAddr)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintln(w, `{"status":"ok"}`)
	})
	mux.HandleFunc("/mounted", func(w http.ResponseWriter, r *http.Request) {
		b, err := os.ReadFile(*file)
		if err != nil {
			log.Printf("read mounted file: %v", err)
			http.Error(w, "mounted file missing", http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", "text/plain")
		w.Write(b)
	})
	log.Printf("fixture: listening on %s", *addr)
	srv := &http.Server{Addr: *addr, Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	log.Fatal(srv.ListenAndServe())
}

// healthcheck lets a FROM-scratch image run a compose healthcheck without curl.
func healthcheck(url string) int {
	c := &http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return 1
	}
	return 0
}
