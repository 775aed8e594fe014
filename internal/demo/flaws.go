package demo

// This file is documentation: what the vulnerable mode breaks for each checklist item, how
// the hardened mode fixes it, and where. flaws_test.go proves each line in both modes.
//
//  1 HTTPS only
//    flaw: plain HTTP only (Start, one listener).
//    fix:  TLS 1.2+ with ECDHE AEAD suites and a throwaway CA (tls.go); the plain port
//          answers 308 to https on the same host; HSTS max-age=31536000; includeSubDomains.
//  2 Authentication
//    flaw: verifyVulnerable accepts alg=none in any case and a stripped signature, never
//          checks exp, signs with the HMAC key "secret"; /api/v1/* needs no token (legacy).
//    fix:  verifyStrict: HS256 only, 32 random key bytes, exp enforced; 401 problem with
//          WWW-Authenticate; v1 protected like v2.
//  3 Object authorization
//    flaw: /api/v2/orders/{id} GET, PUT, PATCH, DELETE ignore the owner (findOrder).
//    fix:  another user's order is answered 404, like a missing one, and logged authz_fail.
//  4 Input validation
//    flaw: quantity as a string or beyond int4 gives 500; a negative quantity and a note
//          over 200 characters are stored (applyLoose).
//    fix:  applyStrict/decodeStrict: 415, 413, 400 or 422 problem details.
//  5 Rate limiting
//    flaw: nothing is limited except failed logins, counted per X-Forwarded-For value, so
//          rotating the header gets around it (loginVulnerable).
//    fix:  5 failed logins per username per 5 minutes; 60 requests per 10 s per client and
//          route; 429 with Retry-After, RateLimit-Policy and RateLimit.
//  6 Data exposure
//    flaw: /api/me, /api/signup and /api/v2/users return password_hash (bcrypt), api_key,
//          is_admin; the users list shows everyone's e-mail address (userView).
//    fix:  no secrets in any response; the users list shows only the caller.
//  7 Safe errors
//    flaw: a panic's text and goroutine stack in the body (malformed JSON, wrong types);
//          a quote in /api/v2/search?q= gives a PostgreSQL error with the query;
//          Server: apigate-demo/0.3.1 and X-Powered-By: Go/1.22.
//    fix:  generic RFC 9457 problem details; no version headers.
//  8 CORS
//    flaw: any Origin (null too) reflected with Access-Control-Allow-Credentials: true and
//          no Vary: Origin; preflights echo any method and header.
//    fix:  one trusted origin (https://app.example.invalid), Vary: Origin.
//    both: the public catalogue sends Access-Control-Allow-Origin: * without credentials,
//          which is correct for public data (a false-positive trap for the CORS probe).
//  9 Versioning
//    flaw: /api/v1 is live, undocumented and unauthenticated; the deprecated
//          /api/v2/orders/export sends no Deprecation or Sunset.
//    fix:  v1 documented as deprecated and protected; Deprecation: @<unix>, Sunset (an
//          IMF-fixdate after it and in the future) and Link rel="deprecation" on both.
// 10 Logging
//    flaw: failed logins, refused tokens and refused objects leave no line; each request
//          line holds the raw Authorization header and the login body (passwords); the
//          username is written raw into a text line, so CR/LF forges lines.
//    fix:  JSON lines with OWASP vocabulary events (authn_login_fail, authn_login_fail_max,
//          authn_token_invalid, authz_fail, input_validation_fail,
//          excess_rate_limit_exceeded), the X-Request-ID, no secrets, CR/LF escaped.
// 11 Mass assignment
//    flaw: PATCH /api/me stores role and is_admin; signup stores role; POST and PATCH
//          orders store owner_id, price and status.
//    fix:  readOnly properties are ignored, unknown ones refused with 422.
// 12 Security headers
//    flaw: no X-Content-Type-Options, no Cache-Control on authenticated JSON.
//    fix:  nosniff and no-store everywhere (the public catalogue may be cached).
