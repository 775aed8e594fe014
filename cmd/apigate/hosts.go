package main

import (
	"crypto/x509"
	"net"
	"strconv"
	"strings"
)

// neverScanned reports whether host is a link-local address, which no flag or config can
// allow: 169.254.169.254 and fe80::/10 are where clouds serve instance metadata and
// credentials.
func neverScanned(host string) bool {
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && (ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast())
}

// checkAllowHosts refuses --allow-host and allow-hosts entries that can never be scanned,
// instead of accepting them silently.
func checkAllowHosts(allow []string) error {
	for _, h := range allow {
		if neverScanned(h) {
			return usagef("--allow-host/allow-hosts %s: link-local and cloud metadata addresses "+
				"are never scanned", h)
		}
		if shortIPv4(h) {
			return usagef("--allow-host/allow-hosts %s: %s", h, shortIPv4Advice)
		}
	}
	return nil
}

// shortIPv4 reports a host written like an IPv4 address in a form Go does not parse
// (127.1, 0x7f.1, 2130706433): some resolvers expand it, Go's dialer would look it up as a
// name, so apigate refuses it instead of guessing where it leads.
func shortIPv4(host string) bool {
	if host == "" || net.ParseIP(host) != nil {
		return false
	}
	for _, part := range strings.Split(host, ".") {
		if part == "" {
			return false
		}
		if _, err := strconv.ParseUint(part, 0, 32); err != nil {
			return false
		}
	}
	return true
}

const shortIPv4Advice = "short or numeric IPv4 forms are not supported; write the address in " +
	"full, e.g. 127.0.0.1"

// checkPort refuses a port outside 1-65535, which url.Parse accepts.
func checkPort(raw, port string) error {
	if port == "" {
		return nil
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 {
		return usagef("malformed --url %q: port %s is not between 1 and 65535", raw, port)
	}
	return nil
}

// checkCAPEM refuses a --ca-cert file holding no certificate, naming the file; the client
// would otherwise fail later with no name to go on.
func checkCAPEM(path string, pem []byte) error {
	if !x509.NewCertPool().AppendCertsFromPEM(pem) {
		return usagef("--ca-cert %s: no PEM certificate found in the file", path)
	}
	return nil
}
