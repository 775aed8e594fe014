package probes

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/apigate/apigate/internal/finding"
	"github.com/apigate/apigate/internal/httpx"
	"github.com/apigate/apigate/internal/target"
)

// hstsMinAge is about six months, the shortest max-age that still counts as effective.
const hstsMinAge = 15768000

// hsts requests the API over https, following same-host https redirects by hand (at most
// three), and judges Strict-Transport-Security on the final answer. A redirect hop without
// HSTS is not held against the API; the response that carries the content is.
func (r *transportRun) hsts(ctx context.Context, base *url.URL) {
	u := target.JoinURL(base, r.path)
	var ex *httpx.Exchange
	insecure := false
	for hop := 0; hop < 4; hop++ {
		var err error
		ex, err = r.s.Client.Do(ctx, httpx.Request{Method: "GET", URL: u, Insecure: insecure})
		var verr *tls.CertificateVerificationError
		if errors.As(err, &verr) && !insecure {
			// The certificate check reports this; HSTS is still worth judging.
			insecure = true
			ex, err = r.s.Client.Do(ctx, httpx.Request{Method: "GET", URL: u, Insecure: true})
		}
		if err != nil || ex.Status == 0 {
			r.facts = append(r.facts, fmt.Sprintf("HTTPS request to %s failed: %v", u, err))
			return
		}
		if ex.Status < 300 || ex.Status >= 400 || hop == 3 {
			break
		}
		cur, _ := url.Parse(u)
		next, err := cur.Parse(ex.Header.Get("Location"))
		if err != nil || next.Scheme != "https" || !strings.EqualFold(next.Host, cur.Host) {
			break // judged on this hop: it is the last one on this host
		}
		u = next.String()
	}
	values := ex.Header.Values("Strict-Transport-Security")
	excerpt := HeaderExcerpt(ex, "Strict-Transport-Security")
	add := func(rule Rule, detail string) {
		if excerpt == "" {
			excerpt = "Strict-Transport-Security: (absent)"
		}
		r.findings = append(r.findings, r.s.NewFinding(rule, r.op, ex, finding.ConfidenceHigh,
			"", excerpt, detail))
	}
	if len(values) == 0 {
		add(RuleHSTSMissing, fmt.Sprintf("The https response (%d) has no Strict-Transport-Security header.",
			ex.Status))
		return
	}
	if len(values) > 1 {
		add(RuleHSTSInvalid, fmt.Sprintf("%d Strict-Transport-Security headers are sent; "+
			"browsers honour only one and may ignore them all.", len(values)))
		return
	}
	age, problem := parseHSTS(values[0])
	switch {
	case problem != "":
		add(RuleHSTSInvalid, "Strict-Transport-Security is "+problem+".")
	case age == 0:
		add(RuleHSTSInvalid, "max-age=0 tells browsers to forget HSTS for this host.")
	case age < hstsMinAge:
		add(RuleHSTSInvalid, fmt.Sprintf("max-age=%d (%d days) is shorter than six months.",
			age, age/86400))
	default:
		r.facts = append(r.facts, fmt.Sprintf("HSTS max-age=%d", age))
	}
}

// parseHSTS reads a Strict-Transport-Security value (RFC 6797 section 6.1). It returns
// max-age and, when the value is unusable, what is wrong with it.
func parseHSTS(v string) (int64, string) {
	for _, c := range v {
		if c < 0x20 || c > 0x7e {
			return 0, "malformed (it contains non-ASCII or control characters)"
		}
	}
	age := int64(-1)
	seen := map[string]bool{}
	for _, d := range strings.Split(v, ";") {
		d = strings.TrimSpace(d)
		if d == "" {
			continue
		}
		name, val, _ := strings.Cut(d, "=")
		name = strings.ToLower(strings.TrimSpace(name))
		if seen[name] {
			return 0, "malformed (directive " + name + " appears twice)"
		}
		seen[name] = true
		if name != "max-age" {
			continue
		}
		val = strings.Trim(strings.TrimSpace(val), `"`)
		n, err := strconv.ParseInt(val, 10, 64)
		if err != nil || n < 0 {
			return 0, fmt.Sprintf("malformed (max-age %q is not a number)", val)
		}
		age = n
	}
	if age < 0 {
		return 0, "malformed (no max-age directive)"
	}
	return age, ""
}

// handshakes pins each legacy TLS version, then each insecure TLS 1.2 suite, and checks the
// certificate of a normal handshake.
func (r *transportRun) handshakes(ctx context.Context, base *url.URL) {
	all := allSuiteIDs()
	var legacy []string
	var legacyState *tls.ConnectionState
	for _, v := range []uint16{tls.VersionTLS10, tls.VersionTLS11} {
		st, err := r.s.Client.Handshake(ctx, base, &tls.Config{
			MinVersion: v, MaxVersion: v, CipherSuites: all,
			InsecureSkipVerify: true, //nolint:gosec // only the protocol is being tested
		})
		if err == nil {
			legacy = append(legacy, tls.VersionName(v))
			legacyState = st
		}
	}
	if len(legacy) > 0 {
		flag := map[string]string{
			"TLS 1.0": "--tlsv1.0 --tls-max 1.0", "TLS 1.1": "--tlsv1.1 --tls-max 1.1"}
		f := r.tlsFinding(RuleLegacyTLS, base,
			fmt.Sprintf("accepted: %s (negotiated %s)", strings.Join(legacy, ", "),
				tls.CipherSuiteName(legacyState.CipherSuite)),
			fmt.Sprintf("The server completed a handshake with %s pinned.", strings.Join(legacy, " and ")),
			flag[legacy[0]])
		r.findings = append(r.findings, f)
	} else {
		r.facts = append(r.facts, "TLS 1.0 and 1.1 refused")
	}
	r.facts = append(r.facts, "SSLv3 not tested (Go cannot speak it)")

	var weak []string
	var firstWeak uint16
	for _, cs := range tls.InsecureCipherSuites() {
		if !supports(cs, tls.VersionTLS12) {
			continue
		}
		_, err := r.s.Client.Handshake(ctx, base, &tls.Config{
			MinVersion: tls.VersionTLS12, MaxVersion: tls.VersionTLS12,
			CipherSuites:       []uint16{cs.ID},
			InsecureSkipVerify: true, //nolint:gosec // only the suite is being tested
		})
		if err == nil {
			if len(weak) == 0 {
				firstWeak = cs.ID
			}
			weak = append(weak, cs.Name)
		}
	}
	if len(weak) > 0 {
		f := r.tlsFinding(RuleWeakCipher, base, "accepted with TLS 1.2: "+strings.Join(weak, ", "),
			fmt.Sprintf("The server accepted %d insecure cipher suite(s) when offered alone.", len(weak)),
			"--tlsv1.2 --tls-max 1.2 --ciphers "+opensslName(firstWeak))
		r.findings = append(r.findings, f)
	} else {
		r.facts = append(r.facts, "no insecure TLS 1.2 cipher suite accepted")
	}
	r.certificate(ctx, base)
}

// certificate verifies the served chain against the system roots plus the CA the user
// trusts for this target, and inspects the leaf's dates, key and signature.
func (r *transportRun) certificate(ctx context.Context, base *url.URL) {
	st, err := r.s.Client.Handshake(ctx, base, &tls.Config{
		MinVersion: tls.VersionTLS12, InsecureSkipVerify: true, //nolint:gosec // verified below
	})
	if err != nil || len(st.PeerCertificates) == 0 {
		r.facts = append(r.facts, fmt.Sprintf("no TLS 1.2+ handshake for the certificate check: %v", err))
		return
	}
	leaf := st.PeerCertificates[0]
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	if r.s.Target.TLS != nil && len(r.s.Target.TLS.RootCAs) > 0 {
		pool.AppendCertsFromPEM(r.s.Target.TLS.RootCAs)
	}
	inter := x509.NewCertPool()
	for _, c := range st.PeerCertificates[1:] {
		inter.AddCert(c)
	}
	const day = "2006-01-02"
	desc := fmt.Sprintf("subject %q, issuer %q, valid %s to %s", leaf.Subject.CommonName,
		leaf.Issuer.CommonName, leaf.NotBefore.Format(day), leaf.NotAfter.Format(day))
	now := time.Now()
	_, verr := leaf.Verify(x509.VerifyOptions{Roots: pool, Intermediates: inter,
		DNSName: base.Hostname(), CurrentTime: now})
	if verr != nil {
		r.findings = append(r.findings, r.tlsFinding(RuleCertInvalid, base, desc,
			"The certificate does not verify: "+certProblem(verr, leaf)+".", ""))
	} else {
		r.facts = append(r.facts, "certificate valid for "+base.Hostname())
	}
	var weak []string
	switch k := leaf.PublicKey.(type) {
	case *rsa.PublicKey:
		if k.N.BitLen() < 2048 {
			weak = append(weak, fmt.Sprintf("an RSA key of %d bits", k.N.BitLen()))
		}
	case *ecdsa.PublicKey:
		if k.Curve.Params().BitSize < 256 {
			weak = append(weak, fmt.Sprintf("an ECDSA key of %d bits", k.Curve.Params().BitSize))
		}
	}
	switch leaf.SignatureAlgorithm {
	case x509.MD5WithRSA, x509.MD2WithRSA, x509.SHA1WithRSA, x509.ECDSAWithSHA1, x509.DSAWithSHA1:
		weak = append(weak, "a "+leaf.SignatureAlgorithm.String()+" signature")
	}
	if len(weak) > 0 {
		r.findings = append(r.findings, r.tlsFinding(RuleCertWeak, base, desc,
			"The certificate uses "+strings.Join(weak, " and ")+".", ""))
	}
	if left := leaf.NotAfter.Sub(now); verr == nil && left > 0 && left < 30*24*time.Hour {
		r.findings = append(r.findings, r.tlsFinding(RuleCertExpiring, base, desc,
			fmt.Sprintf("The certificate expires in %d days.", int(left.Hours()/24)), ""))
	}
}

// certProblem names what made verification fail, in the reader's terms.
func certProblem(err error, leaf *x509.Certificate) string {
	var inv x509.CertificateInvalidError
	var host x509.HostnameError
	var unknown x509.UnknownAuthorityError
	switch {
	case errors.As(err, &inv) && inv.Reason == x509.Expired:
		return "it is expired or not yet valid (" + inv.Detail + ")"
	case errors.As(err, &host):
		return "it is not valid for this host (" + host.Error() + ")"
	case errors.As(err, &unknown):
		if bytes.Equal(leaf.RawSubject, leaf.RawIssuer) &&
			leaf.CheckSignature(leaf.SignatureAlgorithm, leaf.RawTBSCertificate, leaf.Signature) == nil {
			return "it is self-signed and not issued by a trusted CA"
		}
		return "it is issued by an untrusted CA"
	}
	return err.Error()
}

// tlsFinding builds a finding about the TLS endpoint itself. Its reproduction is a curl
// command with the TLS options that show the problem.
func (r *transportRun) tlsFinding(rule Rule, base *url.URL,
	excerpt, detail, curlOpts string) finding.Finding {
	u := target.JoinURL(base, "/")
	ex := &httpx.Exchange{Method: "GET", URL: u}
	f := r.s.NewFinding(rule, nil, ex, finding.ConfidenceHigh, "", excerpt, detail)
	f.Path = "/"
	f.Evidence.Request = "TLS handshake with " + base.Host
	f.Curl = "curl -sS -v -o /dev/null"
	if curlOpts != "" {
		f.Curl += " -k " + curlOpts
	}
	f.Curl += " " + r.s.Client.Redactor().Redact(u)
	return f
}

func supports(cs *tls.CipherSuite, v uint16) bool {
	for _, x := range cs.SupportedVersions {
		if x == v {
			return true
		}
	}
	return false
}

// allSuiteIDs lists every TLS 1.0-1.2 suite Go implements, so a legacy-version handshake
// fails only because of the version and not because no suite matched.
func allSuiteIDs() []uint16 {
	var ids []uint16
	for _, cs := range append(tls.CipherSuites(), tls.InsecureCipherSuites()...) {
		ids = append(ids, cs.ID)
	}
	return ids
}

// opensslName converts an IANA suite name to the OpenSSL name curl's --ciphers expects.
func opensslName(id uint16) string {
	n := tls.CipherSuiteName(id)
	n = strings.TrimPrefix(n, "TLS_")
	n = strings.Replace(n, "_WITH_", "_", 1)
	n = strings.TrimPrefix(n, "RSA_") // static RSA key exchange has no prefix in OpenSSL
	r := strings.NewReplacer("3DES_EDE_CBC", "DES-CBC3", "AES_128_CBC", "AES128",
		"AES_256_CBC", "AES256", "RC4_128", "RC4", "_", "-")
	return r.Replace(n)
}
