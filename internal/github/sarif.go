package github

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	gh "github.com/google/go-github/v62/github"
)

// MaxSARIFGzipBytes is code scanning's limit for one gzip-compressed SARIF file; larger
// uploads are rejected, so the action refuses them itself with a clear message.
const MaxSARIFGzipBytes = 10 << 20

// Upload is what a SARIF upload needs besides the file.
type Upload struct {
	CommitSHA string // 40 hex
	Ref       string // refs/heads/x, refs/pull/N/merge, ...
	// CheckoutURI is the workspace as a file:// URI; code scanning uses it to make absolute
	// artifact paths relative. apigate writes relative paths, so it is informational.
	CheckoutURI string
	StartedAt   time.Time
}

// EncodeSARIF gzips and base64-encodes a SARIF file, as the upload endpoint requires.
func EncodeSARIF(data []byte) (string, error) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(data); err != nil {
		return "", fmt.Errorf("gzip sarif: %w", err)
	}
	if err := zw.Close(); err != nil {
		return "", fmt.Errorf("gzip sarif: %w", err)
	}
	if buf.Len() > MaxSARIFGzipBytes {
		return "", fmt.Errorf("sarif is %d bytes gzipped, over code scanning's limit of %d",
			buf.Len(), MaxSARIFGzipBytes)
	}
	return base64.StdEncoding.EncodeToString(buf.Bytes()), nil
}

// UploadSARIF sends the SARIF to code scanning and returns the upload's id.
func (c *Client) UploadSARIF(ctx context.Context, data []byte, u Upload) (string, error) {
	enc, err := EncodeSARIF(data)
	if err != nil {
		return "", err
	}
	analysis := &gh.SarifAnalysis{
		CommitSHA: gh.String(u.CommitSHA),
		Ref:       gh.String(u.Ref),
		Sarif:     gh.String(enc),
		ToolName:  gh.String("apigate"),
	}
	if u.CheckoutURI != "" {
		analysis.CheckoutURI = gh.String(u.CheckoutURI)
	}
	if !u.StartedAt.IsZero() {
		analysis.StartedAt = &gh.Timestamp{Time: u.StartedAt}
	}
	var id *gh.SarifID
	err = c.do(ctx, "upload sarif", func() (*gh.Response, error) {
		var resp *gh.Response
		var err error
		id, resp, err = c.gh.CodeScanning.UploadSarif(ctx, c.owner, c.repo, analysis)
		return resp, err
	})
	if err != nil {
		return "", err
	}
	if id == nil || id.ID == nil || *id.ID == "" {
		return "", errors.New("upload sarif: the answer carried no id")
	}
	return *id.ID, nil
}

// Processing is the state of an uploaded SARIF file.
type Processing struct {
	Status string   // pending, complete or failed ("" when the wait ran out first)
	Errors []string // processing errors, when failed
}

// sarifStatus is the processing answer; go-github's SARIFUpload has no errors field.
type sarifStatus struct {
	ProcessingStatus string   `json:"processing_status"`
	AnalysesURL      string   `json:"analyses_url"`
	Errors           []string `json:"errors"`
}

// WaitForProcessing polls the upload's processing status with growing pauses until it is
// complete or failed, or maxWait passes; then it returns the last status seen, and the
// caller carries on: processing continues on GitHub's side either way.
func (c *Client) WaitForProcessing(ctx context.Context, id string, maxWait time.Duration,
	firstPause time.Duration) (Processing, error) {
	deadline := time.Now().Add(maxWait)
	pause := firstPause
	var last Processing
	for {
		var st sarifStatus
		err := c.do(ctx, "sarif processing status", func() (*gh.Response, error) {
			req, err := c.gh.NewRequest("GET",
				fmt.Sprintf("repos/%s/%s/code-scanning/sarifs/%s", c.owner, c.repo, id), nil)
			if err != nil {
				return nil, err
			}
			return c.gh.Do(ctx, req, &st)
		})
		if err != nil {
			return last, err
		}
		last = Processing{Status: st.ProcessingStatus, Errors: st.Errors}
		if st.ProcessingStatus == "complete" || st.ProcessingStatus == "failed" {
			return last, nil
		}
		if time.Now().Add(pause).After(deadline) {
			return last, nil
		}
		select {
		case <-ctx.Done():
			return last, ctx.Err()
		case <-time.After(pause):
		}
		pause = min(pause*2, 15*time.Second)
	}
}
