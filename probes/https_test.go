package probes

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/apigate/apigate/internal/finding"
	"github.com/apigate/apigate/internal/httpx"
	"github.com/apigate/apigate/internal/target"
)

// testPKI is a private CA that issues loopback certificates for the transport tests.
type testPKI struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
}

func newTestPKI(t *testing.T) *testPKI {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "apigate test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour * 365),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return &testPKI{cert: cert, key: key,
		pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

// leafOpts shapes a certificate: its validity, names and key.
type leafOpts struct {
	notAfter   time.Duration // from now; negative for an expired certificate
	dnsOnly    string        // when set, the certificate names only this DNS name
	rsaBits    int           // when set, an RSA key of this size instead of ECDSA P-256
	selfSigned bool
}

func (p *testPKI) leaf(t *testing.T, o leafOpts) tls.Certificate {
	t.Helper()
	if o.notAfter == 0 {
		o.notAfter = 24 * time.Hour * 200
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: "api"},
		NotBefore: time.Now().Add(-48 * time.Hour), NotAfter: time.Now().Add(o.notAfter),
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
	}
	if o.dnsOnly != "" {
		tmpl.IPAddresses, tmpl.DNSNames = nil, []string{o.dnsOnly}
	}
	var pub, priv any
	if o.rsaBits > 0 {
		k, err := rsa.GenerateKey(rand.Reader, o.rsaBits)
		if err != nil {
			t.Fatal(err)
		}
		pub, priv = &k.PublicKey, k
	} else {
		k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		pub, priv = &k.PublicKey, k
	}
	parent, signer := p.cert, any(p.key)
	if o.selfSigned {
		parent, signer = tmpl, priv
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, signer)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: priv}
}

// tlsAPI starts an HTTPS server with cert and cfg (nil for Go's defaults: TLS 1.2+).
func tlsAPI(t *testing.T, cert tls.Certificate, cfg *tls.Config, h http.Handler) *httptest.Server {
	t.Helper()
	srv := httptest.NewUnstartedServer(h)
	if cfg == nil {
		cfg = &tls.Config{}
	}
	cfg.Certificates = []tls.Certificate{cert}
	srv.TLS = cfg
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // refused offers are logged otherwise
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

// hstsHandler serves JSON with the given Strict-Transport-Security values.
func hstsHandler(values ...string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		for _, v := range values {
			w.Header().Add("Strict-Transport-Security", v)
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"items":[]}`))
	})
}

// closedPort returns an http URL on loopback where nothing listens.
func closedPort(t *testing.T) *url.URL {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse("http://" + ln.Addr().String())
	ln.Close()
	return u
}

// transportSession is a Session over an https base and an optional http base, with a client
// that may reach any port of 127.0.0.1 and trusts ca (when given).
func transportSession(t *testing.T, httpsURL string, httpBase *url.URL, ca []byte) *Session {
	t.Helper()
	hu, _ := url.Parse(httpsURL)
	tg := &target.Target{Base: hu, TLS: &target.TLSInfo{HTTPSBase: hu, HTTPBase: httpBase, RootCAs: ca},
		Operations: []*target.Operation{
			{Method: "GET", Path: "/catalog", Security: target.SecurityNone},
			{Method: "GET", Path: "/me", Security: target.SecurityRequired},
		}}
	c, err := httpx.New(httpx.Config{AllowedHosts: []string{"127.0.0.1"}, RootCAs: ca,
		Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return &Session{Target: tg, Client: c, Started: time.Now(), Canary: testCanary}
}

func TestTransport(t *testing.T) {
	pki := newTestPKI(t)
	good := pki.leaf(t, leafOpts{})
	const year = "max-age=31536000"
	plainAPI := func(h http.HandlerFunc) *url.URL {
		srv := httptest.NewServer(h)
		t.Cleanup(srv.Close)
		u, _ := url.Parse(srv.URL)
		return u
	}
	cases := []struct {
		name    string
		cert    tls.Certificate
		cfg     *tls.Config
		handler http.Handler
		http    func(httpsURL string) *url.URL // nil: a closed port
		noCA    bool
		want    map[string]finding.Severity
		detail  string // when set, some finding's detail must contain it
	}{
		{name: "TLS 1.2+, valid certificate, one-year HSTS and a closed http port pass",
			cert: good, handler: hstsHandler(year + "; includeSubDomains")},
		{name: "http redirecting to https on the same host passes",
			cert: good, handler: hstsHandler(year),
			http: func(httpsURL string) *url.URL {
				return plainAPI(func(w http.ResponseWriter, r *http.Request) {
					http.Redirect(w, r, httpsURL+r.URL.Path, http.StatusMovedPermanently)
				})
			}},
		{name: "same-host https redirect without HSTS to a final 2xx with HSTS passes",
			cert: good, handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if !strings.HasPrefix(r.URL.Path, "/v1/") {
					http.Redirect(w, r, "/v1"+r.URL.Path, http.StatusPermanentRedirect)
					return
				}
				hstsHandler(year).ServeHTTP(w, r)
			})},
		{name: "API served over plain http is high when it carries credentials",
			cert: good, handler: hstsHandler(year),
			http: func(string) *url.URL {
				return plainAPI(func(w http.ResponseWriter, _ *http.Request) {
					_, _ = w.Write([]byte(`{"items":[]}`))
				})
			},
			want: map[string]finding.Severity{RuleHTTPSPlain.ID: finding.SeverityHigh}},
		{name: "http redirecting to another host fires",
			cert: good, handler: hstsHandler(year),
			http: func(string) *url.URL {
				return plainAPI(func(w http.ResponseWriter, r *http.Request) {
					http.Redirect(w, r, "http://elsewhere.invalid/", http.StatusFound)
				})
			},
			want: map[string]finding.Severity{RuleHTTPSRedirect.ID: finding.SeverityMedium}},
		{name: "missing HSTS fires", cert: good, handler: hstsHandler(),
			want: map[string]finding.Severity{RuleHSTSMissing.ID: finding.SeverityLow}},
		{name: "max-age=0 fires", cert: good, handler: hstsHandler("max-age=0"),
			want: map[string]finding.Severity{RuleHSTSInvalid.ID: finding.SeverityLow}},
		{name: "a one-day max-age is weak", cert: good, handler: hstsHandler("max-age=86400"),
			want: map[string]finding.Severity{RuleHSTSInvalid.ID: finding.SeverityLow}},
		{name: "two HSTS headers fire", cert: good, handler: hstsHandler(year, year),
			want: map[string]finding.Severity{RuleHSTSInvalid.ID: finding.SeverityLow}},
		{name: "HSTS without max-age is malformed", cert: good, handler: hstsHandler("includeSubDomains"),
			want: map[string]finding.Severity{RuleHSTSInvalid.ID: finding.SeverityLow}},
		{name: "TLS 1.0 accepted fires", cert: good, handler: hstsHandler(year),
			cfg:  &tls.Config{MinVersion: tls.VersionTLS10},
			want: map[string]finding.Severity{RuleLegacyTLS.ID: finding.SeverityMedium}},
		{name: "an insecure CBC-SHA256 suite accepted with TLS 1.2 fires", cert: good, handler: hstsHandler(year),
			cfg: &tls.Config{CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
				tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256}},
			want: map[string]finding.Severity{RuleWeakCipher.ID: finding.SeverityMedium}},
		{name: "expired certificate fires", handler: hstsHandler(year),
			cert: pki.leaf(t, leafOpts{notAfter: -time.Hour}), detail: "expired",
			want: map[string]finding.Severity{RuleCertInvalid.ID: finding.SeverityHigh}},
		{name: "certificate for another host fires", handler: hstsHandler(year),
			cert: pki.leaf(t, leafOpts{dnsOnly: "other.example"}), detail: "not valid for this host",
			want: map[string]finding.Severity{RuleCertInvalid.ID: finding.SeverityHigh}},
		{name: "self-signed certificate nobody trusts fires", handler: hstsHandler(year),
			cert: pki.leaf(t, leafOpts{selfSigned: true}), noCA: true, detail: "self-signed",
			want: map[string]finding.Severity{RuleCertInvalid.ID: finding.SeverityHigh}},
		{name: "1024-bit RSA key fires", handler: hstsHandler(year),
			cert: pki.leaf(t, leafOpts{rsaBits: 1024}),
			want: map[string]finding.Severity{RuleCertWeak.ID: finding.SeverityMedium}},
		{name: "certificate expiring in ten days is info", handler: hstsHandler(year),
			cert: pki.leaf(t, leafOpts{notAfter: 10 * 24 * time.Hour}),
			want: map[string]finding.Severity{RuleCertExpiring.ID: finding.SeverityInfo}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := tlsAPI(t, tc.cert, tc.cfg, tc.handler)
			var hb *url.URL
			if tc.http != nil {
				hb = tc.http(srv.URL)
			} else {
				hb = closedPort(t)
			}
			ca := pki.pem
			if tc.noCA {
				ca = nil
			}
			s := transportSession(t, srv.URL, hb, ca)
			v := NewTransport().Run(context.Background(), s)
			got := map[string]finding.Severity{}
			details := ""
			for _, f := range v.Findings {
				got[f.Rule] = f.Severity
				details += f.Evidence.Detail + "\n"
				if f.Curl == "" || f.Evidence.Excerpt == "" {
					t.Errorf("%s lacks evidence: %+v", f.Rule, f)
				}
			}
			if len(tc.want) == 0 && v.Status != finding.StatusPass {
				t.Fatalf("status %s, findings %v (%s), want pass", v.Status, got, v.Reason)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("findings %v, want %v (%s)", got, tc.want, v.Reason)
			}
			for r, sev := range tc.want {
				if got[r] != sev {
					t.Errorf("%s severity %v, want %v", r, got[r], sev)
				}
			}
			t.Logf("%s: %s", v.Status, v.Reason)
			for _, f := range v.Findings {
				t.Logf("  %s %s | %s | %s | %s", f.Rule, f.Path, f.Evidence.Excerpt, f.Evidence.Detail, f.Curl)
			}
			if tc.detail != "" && !strings.Contains(details, tc.detail) {
				t.Errorf("no finding detail says %q: %s", tc.detail, details)
			}
			if !strings.Contains(v.Reason, "SSLv3 not tested") {
				t.Errorf("reason %q does not say SSLv3 was not tested", v.Reason)
			}
		})
	}
}

func TestTransportPlainOnly(t *testing.T) {
	srv := httptest.NewServer(hstsHandler())
	t.Cleanup(srv.Close)
	ops := []*target.Operation{{Method: "GET", Path: "/catalog", Security: target.SecurityNone}}

	s := newTestSession(t, srv.URL, &target.Target{Operations: ops})
	v := NewTransport().Run(context.Background(), s)
	if v.Status != finding.StatusFail || len(v.Findings) != 1 || v.Findings[0].Rule != RuleHTTPSPlain.ID {
		t.Fatalf("plain-only target: %s %v (%s), want one %s", v.Status, v.Findings, v.Reason, RuleHTTPSPlain.ID)
	}
	if v.Findings[0].Severity != finding.SeverityMedium {
		t.Errorf("public-only API over http: severity %v, want medium", v.Findings[0].Severity)
	}

	s = newTestSession(t, srv.URL, &target.Target{Operations: ops,
		Options: target.Options{TLSTerminatedUpstream: true}})
	v = NewTransport().Run(context.Background(), s)
	if v.Status != finding.StatusNotTested || !strings.Contains(v.Reason, "terminated upstream") {
		t.Fatalf("TLS terminated upstream: %s (%s), want not-tested with the reason", v.Status, v.Reason)
	}
}

func TestParseHSTS(t *testing.T) {
	cases := []struct {
		in      string
		age     int64
		problem bool
	}{
		{"max-age=31536000; includeSubDomains; preload", 31536000, false},
		{`max-age="15768000"`, 15768000, false},
		{"MAX-AGE=600", 600, false},
		{"max-age=abc", 0, true},
		{"max-age=1; max-age=2", 0, true},
		{"includeSubDomains", 0, true},
		{"max-age=31536000\u201d", 0, true},
	}
	for _, tc := range cases {
		age, problem := parseHSTS(tc.in)
		if age != tc.age || (problem != "") != tc.problem {
			t.Errorf("parseHSTS(%q) = %d, %q; want %d, problem %v", tc.in, age, problem, tc.age, tc.problem)
		}
	}
}

func TestOpenSSLName(t *testing.T) {
	cases := map[uint16]string{
		tls.TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA:     "ECDHE-RSA-DES-CBC3-SHA",
		tls.TLS_RSA_WITH_RC4_128_SHA:                "RC4-SHA",
		tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256: "ECDHE-ECDSA-AES128-SHA256",
	}
	for id, want := range cases {
		if got := opensslName(id); got != want {
			t.Errorf("opensslName(%s) = %s, want %s", tls.CipherSuiteName(id), got, want)
		}
	}
}
