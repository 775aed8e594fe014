package openapi

import (
	"context"
	"net/http"
	"net/url"

	"github.com/apigate/apigate/internal/httpx"
	"github.com/apigate/apigate/internal/target"
)

// ClientFetcher fetches documents from base through the scan's HTTP client, so the target's
// host allow-list, body cap and request budget apply to discovery too.
func ClientFetcher(c *httpx.Client, base *url.URL) Fetcher {
	return ClientFetcherAs(c, base, nil)
}

// ClientFetcherAs is ClientFetcher sending id's credentials, for documents and discovery
// behind a login; a nil id fetches anonymously.
func ClientFetcherAs(c *httpx.Client, base *url.URL, id *target.Identity) Fetcher {
	return func(ctx context.Context, path string) (int, []byte, error) {
		h := http.Header{}
		if id != nil {
			r, _ := http.NewRequest("GET", "http://placeholder/", nil)
			id.Apply(r)
			h = r.Header
		}
		h.Set("Accept", "application/json, application/yaml;q=0.9, */*;q=0.1")
		ex, err := c.Do(ctx, httpx.Request{Method: "GET", URL: target.JoinURL(base, path), Header: h})
		if err != nil {
			return 0, nil, err
		}
		if ex.Truncated {
			return ex.Status, nil, errTruncated
		}
		return ex.Status, ex.Body, nil
	}
}
