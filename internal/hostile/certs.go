package hostile

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"testing"
	"time"
)

// Cert is a generated certificate with its PEM, so a test can trust it (--ca-cert) or not.
type Cert struct {
	TLS tls.Certificate
	PEM []byte
}

// SelfSigned returns a self-signed certificate for 127.0.0.1 and localhost, valid now.
func SelfSigned(t testing.TB) Cert {
	t.Helper()
	return NewCert(t, time.Now().Add(-time.Hour), time.Now().Add(24*time.Hour))
}

// Expired returns a self-signed certificate for 127.0.0.1 and localhost that expired
// yesterday.
func Expired(t testing.TB) Cert {
	t.Helper()
	return NewCert(t, time.Now().Add(-30*24*time.Hour), time.Now().Add(-24*time.Hour))
}

// NewCert returns a self-signed CA-style certificate for the loopback names, valid between
// the two times.
func NewCert(t testing.TB, notBefore, notAfter time.Time) Cert {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatalf("hostile: generate key: %v", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: "apigate hostile test"},
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatalf("hostile: create certificate: %v", err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatalf("hostile: marshal key: %v", err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatalf("hostile: key pair: %v", err)
	}
	return Cert{TLS: pair, PEM: certPEM}
}
