package hostile

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Hang accepts the request and never answers; it returns only when the client gives up or
// the server is killed.
func Hang(s *Server) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-s.Killed():
		}
		panic(http.ErrAbortHandler) // never answer, not even with an empty 200
	})
}

// Trickle sends a complete, valid response one byte every interval, status line included,
// so neither the headers nor the body ever arrive in reasonable time.
func Trickle(interval time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body := `{"ok":true}`
		raw := "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " +
			strconv.Itoa(len(body)) + "\r\n\r\n" + body
		conn, _, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		t := time.NewTicker(interval)
		defer t.Stop()
		for i := range len(raw) {
			if _, err := conn.Write([]byte{raw[i]}); err != nil {
				return
			}
			select {
			case <-t.C:
			case <-r.Context().Done():
				return
			}
		}
	})
}

// Reset answers nothing and resets the connection (TCP RST).
func Reset() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, _, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		closeHard(underlying(conn))
	})
}

// underlying digs the TCP connection out of the tracking wrapper, so a reset reaches it.
func underlying(c net.Conn) net.Conn {
	if tc, ok := c.(*trackedConn); ok {
		return tc.Conn
	}
	return c
}

// CutBody promises declared bytes of JSON in Content-Length, sends sent of them and then
// closes the connection.
func CutBody(declared, sent int) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.Itoa(declared))
		w.WriteHeader(http.StatusOK)
		_, _ = io.CopyN(w, jsonFiller(int64(declared)), int64(sent))
		_ = http.NewResponseController(w).Flush()
		panic(http.ErrAbortHandler)
	})
}

// Huge sends a well-formed JSON body of about n bytes with a Content-Length.
func Huge(n int64) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.FormatInt(n, 10))
		w.WriteHeader(http.StatusOK)
		_, _ = io.Copy(w, jsonFiller(n))
	})
}

// Endless streams chunked JSON-looking data until the client goes away.
func Endless() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		chunk := bytes.Repeat([]byte(`{"k":"vvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvv"},`), 1300)
		rc := http.NewResponseController(w)
		_, _ = w.Write([]byte("["))
		for r.Context().Err() == nil {
			if _, err := w.Write(chunk); err != nil {
				return
			}
			_ = rc.Flush()
		}
	})
}

// jsonFiller reads as a JSON array of exactly n bytes (n >= 2).
func jsonFiller(n int64) io.Reader {
	if n < 2 {
		return strings.NewReader(strings.Repeat(" ", int(n)))
	}
	return io.MultiReader(strings.NewReader("["),
		io.LimitReader(repeatReader{b: []byte(" 0,")}, n-3), strings.NewReader("0]"))
}

type repeatReader struct{ b []byte }

func (r repeatReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = r.b[i%len(r.b)]
	}
	return len(p), nil
}

// bombMember is one gzip member inflating to 64 MiB of zeros, built once.
var bombMember = sync.OnceValue(func() []byte {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	zero := make([]byte, 1<<20)
	for range 64 {
		_, _ = zw.Write(zero)
	}
	_ = zw.Close()
	return buf.Bytes()
})

// GzipBomb answers with Content-Encoding: gzip and a body that inflates to inflated bytes
// (rounded up to 64 MiB) while only a few hundred KiB cross the wire per GiB: gzip members
// concatenated, which every conforming reader inflates one after the other.
func GzipBomb(inflated int64) http.Handler {
	members := (inflated + 64<<20 - 1) / (64 << 20)
	m := bombMember() // built now, so the first request is not slowed by compressing
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Encoding", "gzip")
		w.Header().Set("Content-Length", strconv.FormatInt(members*int64(len(m)), 10))
		w.WriteHeader(http.StatusOK)
		for range members {
			if _, err := w.Write(m); err != nil {
				return
			}
		}
	})
}

// Body answers status with the given content type and raw body: broken JSON, invalid UTF-8
// and the like.
func Body(status int, contentType string, body []byte) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", contentType)
		w.WriteHeader(status)
		_, _ = w.Write(body)
	})
}

// Samples of bodies that break naive parsers.
var (
	// BadJSON claims to be JSON and is not: unterminated, with a trailing garbage byte.
	BadJSON = []byte(`{"id": 1, "name": "x", "items": [1, 2, {"a": tru` + "\x00")
	// BadUTF8 is JSON-shaped with invalid UTF-8 in keys and values.
	BadUTF8 = []byte("{\"na\xffme\": \"\xc3\x28\xa0\xa1\", \"token\": \"\xed\xa0\x80\", \"ok\": true}")
)

// HugeHeaders answers 200 with about n bytes of response headers.
func HugeHeaders(n int) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v := strings.Repeat("h", 1000)
		for i := 0; i*1010 < n; i++ {
			w.Header().Set(fmt.Sprintf("X-Pad-%d", i), v)
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"ok":true}`))
	})
}

// RedirectLoop redirects every request to the path it came from, with a counter in the
// query so each hop looks new.
func RedirectLoop() http.Handler {
	var n atomic.Int64
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Location", fmt.Sprintf("%s?hop=%d", r.URL.Path, n.Add(1)))
		w.WriteHeader(http.StatusFound)
	})
}

// RedirectTo redirects every request to location, typically another host or a cloud
// metadata address that a scanner must never contact. Only the header carries the address.
func RedirectTo(status int, location string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Location", location)
		w.WriteHeader(status)
	})
}

// RateLimitAfter serves the first n requests with next and answers 429 with Retry-After to
// everything after that.
func RateLimitAfter(n int64, next http.Handler) http.Handler {
	var seen atomic.Int64
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if seen.Add(1) > n {
			w.Header().Set("Retry-After", "3600")
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusTooManyRequests)
			_, _ = w.Write([]byte(`{"error":"too many requests"}`))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// Plain is a well-behaved JSON endpoint: 200 {"ok":true} with the usual security headers.
// Tests mount hostile behaviours on some paths and Plain on the rest.
func Plain() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Cache-Control", "no-store")
		_, _ = w.Write([]byte(`{"ok":true}`))
	})
}
