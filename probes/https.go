package probes

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/apigate/apigate/internal/finding"
	"github.com/apigate/apigate/internal/httpx"
	"github.com/apigate/apigate/internal/target"
)

// Rules of the HTTPS check. HSTS is judged only on TLS responses (browsers ignore it over
// plain HTTP); TLS versions, suites and the certificate are judged by handshakes.
var (
	RuleHTTPSPlain = Rule{
		ID: "https-plain-http", Check: finding.CheckHTTPS,
		Title: "API served over plain HTTP", Severity: finding.SeverityMedium,
		CWE: []string{"CWE-319", "CWE-523"}, OWASP: "API8:2023",
		Summary: "The API answers requests over unencrypted HTTP.",
		Help: "Everything sent over plain HTTP, tokens and passwords included, can be read " +
			"and changed by anyone on the network path. Serve the API over HTTPS only: " +
			"close the plain port, or answer it only with a redirect to https on the same host.",
	}
	RuleHTTPSRedirect = Rule{
		ID: "https-insecure-redirect", Check: finding.CheckHTTPS,
		Title:    "Plain HTTP redirects somewhere other than HTTPS on the same host",
		Severity: finding.SeverityMedium,
		CWE:      []string{"CWE-319", "CWE-601"}, OWASP: "API8:2023",
		Summary: "The plain-HTTP endpoint redirects to http or to another host.",
		Help: "A redirect from http must go to https on the same host; anything else keeps " +
			"the traffic in clear text or hands clients to a host they did not ask for. " +
			"Redirect with 301/308 to `https://<same host><same path>`.",
	}
	RuleHSTSMissing = Rule{
		ID: "https-hsts-missing", Check: finding.CheckHTTPS,
		Title: "Strict-Transport-Security missing", Severity: finding.SeverityLow,
		CWE: []string{"CWE-319", "CWE-523"}, OWASP: "API8:2023",
		Summary: "HTTPS responses carry no Strict-Transport-Security header.",
		Help: "Without HSTS a browser that once reached the API over https may still be " +
			"downgraded to http by a network attacker. Send " +
			"`Strict-Transport-Security: max-age=31536000` (one year) on every https response.",
	}
	RuleHSTSInvalid = Rule{
		ID: "https-hsts-invalid", Check: finding.CheckHTTPS,
		Title: "Strict-Transport-Security ineffective", Severity: finding.SeverityLow,
		CWE: []string{"CWE-319", "CWE-523"}, OWASP: "API8:2023",
		Summary: "HSTS is malformed, duplicated, disabled with max-age=0, or shorter than six months.",
		Help: "Browsers ignore a malformed or duplicated Strict-Transport-Security header, " +
			"`max-age=0` switches HSTS off, and a short max-age lapses between visits. Send " +
			"exactly one header with `max-age` of at least 15768000 (six months), better " +
			"31536000.",
	}
	RuleLegacyTLS = Rule{
		ID: "https-legacy-tls", Check: finding.CheckHTTPS,
		Title: "Deprecated TLS version accepted", Severity: finding.SeverityMedium,
		CWE: []string{"CWE-326", "CWE-327"}, OWASP: "API8:2023",
		Summary: "The server completes handshakes with TLS 1.0 or TLS 1.1.",
		Help: "TLS 1.0 and 1.1 are deprecated (RFC 8996) and allow known attacks on their " +
			"ciphers and handshakes. Set the minimum protocol version to TLS 1.2 in the " +
			"server or proxy configuration.",
	}
	RuleWeakCipher = Rule{
		ID: "https-weak-cipher", Check: finding.CheckHTTPS,
		Title: "Weak TLS cipher suite accepted", Severity: finding.SeverityMedium,
		CWE: []string{"CWE-326", "CWE-327"}, OWASP: "API8:2023",
		Summary: "With TLS 1.2 the server accepts RC4, 3DES or other insecure suites.",
		Help: "RC4 is prohibited (RFC 7465), 3DES falls to Sweet32, and CBC suites with " +
			"static RSA key exchange lack forward secrecy. Allow only ECDHE suites with " +
			"AES-GCM or ChaCha20-Poly1305 for TLS 1.2.",
	}
	RuleCertInvalid = Rule{
		ID: "https-cert-invalid", Check: finding.CheckHTTPS,
		Title: "Invalid TLS certificate", Severity: finding.SeverityHigh,
		CWE: []string{"CWE-295"}, OWASP: "API8:2023",
		Summary: "The certificate is expired, for another host, self-signed or from an untrusted issuer.",
		Help: "Clients that accept an invalid certificate accept any attacker's too, and " +
			"clients that do not cannot connect. Serve a certificate from a trusted CA that " +
			"names the API's host, and renew it before it expires.",
	}
	RuleCertWeak = Rule{
		ID: "https-cert-weak", Check: finding.CheckHTTPS,
		Title: "Weak certificate key or signature", Severity: finding.SeverityMedium,
		CWE: []string{"CWE-326", "CWE-327"}, OWASP: "API8:2023",
		Summary: "The certificate uses an RSA key under 2048 bits or an MD5/SHA-1 signature.",
		Help: "Short RSA keys can be factored and MD5/SHA-1 signatures forged. Reissue the " +
			"certificate with an RSA key of 2048 bits or more (or ECDSA P-256) and a SHA-256 " +
			"signature.",
	}
	RuleCertExpiring = Rule{
		ID: "https-cert-expiring", Check: finding.CheckHTTPS,
		Title: "Certificate expires within 30 days", Severity: finding.SeverityInfo,
		CWE: []string{"CWE-298"}, OWASP: "API8:2023",
		Summary: "The certificate expires in less than 30 days.",
		Help: "An expired certificate breaks every client at once. Automate renewal (ACME) " +
			"and alert well before the expiry date.",
	}
)

// https judges the transport: the plain-HTTP address (refused, redirected to https on the
// same host, or serving the API), Strict-Transport-Security on the final https answer, and
// handshakes with TLS 1.0 and 1.1 pinned, each insecure TLS 1.2 suite offered alone, and
// the certificate. A target with no HTTPS address fails, unless TLS is declared terminated
// upstream.
type https struct{}

// NewTransport returns the probe.
func NewTransport() Probe { return https{} }

func (https) Check() finding.Check { return finding.CheckHTTPS }

func (https) Rules() []Rule {
	return []Rule{RuleHTTPSPlain, RuleHTTPSRedirect, RuleHSTSMissing, RuleHSTSInvalid,
		RuleLegacyTLS, RuleWeakCipher, RuleCertInvalid, RuleCertWeak, RuleCertExpiring}
}

// transportRun collects the findings and the facts for the reason line.
type transportRun struct {
	s        *Session
	op       *target.Operation // the API operation used for requests
	path     string
	findings []finding.Finding
	facts    []string
}

func (p https) Run(ctx context.Context, s *Session) Verdict {
	r := &transportRun{s: s}
	r.op, r.path = transportPath(s)
	httpsBase, httpBase := transportBases(s.Target)
	if httpsBase == nil {
		if s.Target.Options.TLSTerminatedUpstream {
			return NotTested("the API is served over plain HTTP here and TLS is declared " +
				"terminated upstream (probes.tls-terminated-upstream), so HTTPS is judged at " +
				"that proxy")
		}
		return r.plainOnly(ctx, httpBase)
	}
	if httpBase != nil {
		r.plainHTTP(ctx, httpBase)
	} else {
		r.facts = append(r.facts, "no plain-HTTP address known, so the http->https "+
			"redirect was not tested")
	}
	r.hsts(ctx, httpsBase)
	r.handshakes(ctx, httpsBase)
	reason := strings.Join(r.facts, "; ")
	if len(r.findings) > 0 {
		return Fail(reason, r.findings...)
	}
	return Pass(reason)
}

// transportBases returns the https and http base URLs of the target, either from Base or
// from the TLS description.
func transportBases(t *target.Target) (httpsBase, httpBase *url.URL) {
	if t.Base.Scheme == "https" {
		httpsBase = t.Base
	} else {
		httpBase = t.Base
	}
	if t.TLS != nil {
		if t.TLS.HTTPSBase != nil {
			httpsBase = t.TLS.HTTPSBase
		}
		if t.TLS.HTTPBase != nil {
			httpBase = t.TLS.HTTPBase
		}
	}
	return httpsBase, httpBase
}

// transportPath picks a known API path to request: a GET without parameters, public ones
// first, so the answer is the API's own and not a 404 from a catch-all.
func transportPath(s *Session) (*target.Operation, string) {
	var best *target.Operation
	for _, op := range s.Ops("GET") {
		if len(PathParams(op.Path)) > 0 || isDocsPath(op.Path) {
			continue
		}
		if best == nil || (s.Target.IsPublic(op) && !s.Target.IsPublic(best)) {
			best = op
		}
	}
	if best == nil {
		return nil, "/"
	}
	return best, best.Path
}

// carriesCredentials reports whether clients send credentials to the API, which makes
// plain HTTP worse: tokens then cross the network in clear text.
func (r *transportRun) carriesCredentials() bool {
	for _, op := range r.s.Target.Operations {
		if !r.s.Target.IsPublic(op) && op.Security == target.SecurityRequired {
			return true
		}
	}
	return len(r.s.Target.Identities) > 0
}

// get sends an anonymous GET to base+path. Credentials are never sent over plain HTTP: the
// API answering at all proves the point.
func (r *transportRun) get(ctx context.Context, base *url.URL, path string) (*httpx.Exchange, error) {
	return r.s.Client.Do(ctx, httpx.Request{Method: "GET", URL: target.JoinURL(base, path),
		Header: http.Header{"Accept": {"application/json"}}})
}

// plainOnly judges a target that has no HTTPS endpoint at all.
func (r *transportRun) plainOnly(ctx context.Context, httpBase *url.URL) Verdict {
	ex, err := r.get(ctx, httpBase, r.path)
	if err != nil || ex.Status == 0 {
		return Inconclusive(fmt.Sprintf("the API has no HTTPS address and its plain-HTTP "+
			"address did not answer: %v", err))
	}
	f := r.s.NewFinding(RuleHTTPSPlain, r.op, ex, finding.ConfidenceHigh, "",
		fmt.Sprintf("HTTP %d over plain http\n%s", ex.Status, Truncate(string(ex.Body), 200)),
		"The API is reachable only over plain HTTP: no HTTPS endpoint is configured for it "+
			"(set probes.tls-terminated-upstream in .apigate.yml if a proxy in front of it "+
			"terminates TLS).")
	if r.carriesCredentials() {
		f.Severity = finding.SeverityHigh
	}
	return Fail("the API is served over plain HTTP only (no HTTPS endpoint); SSLv3 and "+
		"TLS were not tested", f)
}

// plainHTTP judges the plain-HTTP side of a target that also serves HTTPS: refusing is
// best, a redirect to https on the same host is fine, anything that serves the API is not.
func (r *transportRun) plainHTTP(ctx context.Context, httpBase *url.URL) {
	if err := r.s.Client.Dial(ctx, httpBase); err != nil {
		r.facts = append(r.facts, fmt.Sprintf("plain HTTP on %s refuses connections", httpBase.Host))
		return
	}
	ex, err := r.get(ctx, httpBase, r.path)
	if err != nil || ex.Status == 0 {
		r.facts = append(r.facts, fmt.Sprintf("plain HTTP on %s closes without answering", httpBase.Host))
		return
	}
	reqURL, _ := url.Parse(ex.URL)
	switch {
	case ex.Status >= 300 && ex.Status < 400:
		loc, err := reqURL.Parse(ex.Header.Get("Location"))
		if err == nil && loc.Scheme == "https" &&
			strings.EqualFold(loc.Hostname(), reqURL.Hostname()) {
			r.facts = append(r.facts, fmt.Sprintf("plain HTTP redirects (%d) to https on the same host",
				ex.Status))
			return
		}
		where := ex.Header.Get("Location")
		r.findings = append(r.findings, r.s.NewFinding(RuleHTTPSRedirect, r.op, ex,
			finding.ConfidenceHigh, "", HeaderExcerpt(ex, "Location"),
			fmt.Sprintf("The plain-HTTP request is redirected to %q instead of https on the same host.", where)))
	case Is2xx(ex.Status) || ((ex.Status == 401 || ex.Status == 403) && IsJSON(ex) &&
		!mentionsHTTPS(ex.Body)):
		f := r.s.NewFinding(RuleHTTPSPlain, r.op, ex, finding.ConfidenceHigh, "",
			fmt.Sprintf("HTTP %d\n%s", ex.Status, Truncate(string(ex.Body), 200)),
			"The API answers over plain HTTP instead of refusing or redirecting to https.")
		if !Is2xx(ex.Status) {
			f.Confidence = finding.ConfidenceMedium
		}
		if r.carriesCredentials() {
			f.Severity = finding.SeverityHigh
		}
		r.findings = append(r.findings, f)
	default:
		r.facts = append(r.facts, fmt.Sprintf("plain HTTP answers %d without serving the API",
			ex.Status))
	}
}

// mentionsHTTPS recognises refusals such as "plain HTTP request was sent to HTTPS port".
func mentionsHTTPS(body []byte) bool {
	low := strings.ToLower(string(body))
	return strings.Contains(low, "https") || strings.Contains(low, "tls")
}
