package probes

import (
	"encoding/json"
	"html"
	"regexp"
	"strings"

	"github.com/apigate/apigate/internal/finding"
)

// errorSignature recognises one platform's error disclosure. Every pattern must match the
// same response: a lone "Internal Server Error" or the word "exception" proves nothing, an
// exception class together with a stack frame does. Each signature carries true and false
// samples beside it; the test makes sure every one fires on the first and not the second.
type errorSignature struct {
	ID       string
	Platform string
	Rule     *Rule
	Severity finding.Severity
	All      []*regexp.Regexp
	True     []string
	False    []string
}

func re(s string) *regexp.Regexp { return regexp.MustCompile(s) }

// Frame patterns used by several signatures. A frame may follow a newline, a tab, a JSON
// escape (\n, \t) or an HTML non-breaking space.
var (
	javaFrame = re(`(?:\s|\\[nt]|;)at [\w$.<>/]+\((?:[\w$]+\.(?:java|kt|scala):\d+|Native Method|Unknown Source)\)`)
	nodeFrame = re(`(?:\s|\\[nt]|;)at (?:[^\s()]+(?: \[as [^\]]+\])? )?\((?:/|[A-Za-z]:\\|node:|file://)[^)]*:\d+:\d+\)`)
	rubyFrame = re("[\\w/.-]+\\.rb:\\d+:in [`'][^'`]+'")
)

// errorSignatures is the table the safe-errors check matches response bodies against.
var errorSignatures = []errorSignature{
	{
		ID: "werkzeug-debugger", Platform: "Python (Werkzeug)", Rule: &RuleErrorsDebugConsole,
		Severity: finding.SeverityCritical,
		All:      []*regexp.Regexp{re(`Werkzeug Debugger`), re(`(?i)debugger caught an exception|__debugger__|EVALEX`)},
		True: []string{`<title>ZeroDivisionError // Werkzeug Debugger</title>
<script>var EVALEX = true, SECRET = "x";</script>
<p>The debugger caught an exception in your WSGI application.`},
		False: []string{`<h1>Docs</h1><p>Never run the Werkzeug Debugger in production.</p>`},
	},
	{
		ID: "python-traceback", Platform: "Python", Rule: &RuleErrorsStackTrace,
		All: []*regexp.Regexp{re(`Traceback \(most recent call last\):`), re(`File "[^"]+", line \d+`)},
		True: []string{
			"Traceback (most recent call last):\n  File \"/app/api.py\", line 42, in create\n    q = int(x)\nValueError: invalid literal",
			`{"detail":"Traceback (most recent call last):\n  File \"/srv/app.py\", line 7, in h\nKeyError: 'id'"}`,
		},
		False: []string{
			`<p>When the server fails, Python prints a Traceback (most recent call last): to its log.</p>`,
			`{"error":"internal error","request_id":"abc"}`,
		},
	},
	{
		ID: "django-debug", Platform: "Python (Django)", Rule: &RuleErrorsDebugPage,
		All: []*regexp.Regexp{re(`You(?:'|’|&#39;|&#x27;|&rsquo;)re seeing this error because you have (?:<code>)?DEBUG = True(?:</code>)? in your Django settings file`)},
		True: []string{
			`<p>You're seeing this error because you have <code>DEBUG = True</code> in your Django settings file.</p>`,
			`You’re seeing this error because you have DEBUG = True in your Django settings file.`,
		},
		False: []string{`Set DEBUG = False in your Django settings file before deploying.`},
	},
	{
		ID: "django-technical-500", Platform: "Python (Django)", Rule: &RuleErrorsDebugPage,
		All:   []*regexp.Regexp{re(`Django Version:`), re(`Exception (?:Type|Value):`)},
		True:  []string{"<th>Django Version:</th><td>5.0</td><th>Exception Type:</th><td>KeyError</td>"},
		False: []string{`{"framework":"Django","version":"5.0"}`},
	},
	{
		ID: "django-urlconf-404", Platform: "Python (Django)", Rule: &RuleErrorsDebugPage,
		All:   []*regexp.Regexp{re(`Using the URLconf defined in`), re(`Django tried these URL patterns`)},
		True:  []string{"Using the URLconf defined in <code>shop.urls</code>, Django tried these URL patterns, in this order:"},
		False: []string{`{"detail":"Not found."}`},
	},
	{
		ID: "java-stack-trace", Platform: "Java", Rule: &RuleErrorsStackTrace,
		All: []*regexp.Regexp{re(`\b(?:java|javax|jakarta|org|com|io|net)\.[\w.$]*(?:Exception|Error)\b`), javaFrame},
		True: []string{
			"java.lang.NullPointerException: null\n\tat com.shop.OrderController.get(OrderController.java:42)\n\tat java.base/java.lang.Thread.run(Thread.java:833)",
			`{"status":500,"trace":"java.lang.IllegalArgumentException: bad\n\tat org.springframework.web.method.HandlerMethod.invoke(HandlerMethod.java:12)"}`,
		},
		False: []string{
			`{"error":"java.lang.IllegalArgumentException is raised when the id is bad"}`,
			"Meet us at OrderController (see OrderController.java) for details",
		},
	},
	{
		ID: "java-number-format", Platform: "Java", Rule: &RuleErrorsStackTrace,
		All:   []*regexp.Regexp{re(`java\.lang\.NumberFormatException: For input string: "`)},
		True:  []string{`{"message":"java.lang.NumberFormatException: For input string: \"abc\""}`},
		False: []string{`{"message":"id must be a number"}`},
	},
	{
		ID: "spring-whitelabel", Platform: "Java (Spring Boot)", Rule: &RuleErrorsDefaultPage,
		All:   []*regexp.Regexp{re(`Whitelabel Error Page`), re(`This application has no (?:explicit|configured) (?:mapping|error view) for /error`)},
		True:  []string{`<h1>Whitelabel Error Page</h1><p>This application has no explicit mapping for /error, so you are seeing this as a fallback.</p>`},
		False: []string{`<h1>Error</h1><p>Whitelabel pages are disabled here.</p>`},
	},
	{
		ID: "tomcat-exception-report", Platform: "Java (Tomcat)", Rule: &RuleErrorsStackTrace,
		All:   []*regexp.Regexp{re(`(?i)Exception Report`), re(`Apache Tomcat/\d`)},
		True:  []string{`<h1>HTTP Status 500 – Internal Server Error</h1><p><b>Type</b> Exception Report</p><h3>Apache Tomcat/10.1.7</h3>`},
		False: []string{`<h1>HTTP Status 404 – Not Found</h1>`},
	},
	{
		ID: "aspnet-yellow-screen", Platform: ".NET (ASP.NET)", Rule: &RuleErrorsDebugPage,
		All:   []*regexp.Regexp{re(`Server Error in '[^']*' Application`), re(`Exception Details:|Stack Trace:|An unhandled exception occurred during the execution`)},
		True:  []string{`<h1>Server Error in '/' Application.</h1><b> Exception Details: </b>System.NullReferenceException`},
		False: []string{`<h1>Server Error</h1><p>Please try again later.</p>`},
	},
	{
		ID: "aspnet-core-developer-page", Platform: ".NET (ASP.NET Core)", Rule: &RuleErrorsDebugPage,
		All:   []*regexp.Regexp{re(`An unhandled exception occurred while processing the request`), re(`\b(?:System|Microsoft)\.[\w.]+(?:Exception|Error)\b`)},
		True:  []string{`<h1>An unhandled exception occurred while processing the request.</h1><h2>InvalidOperationException: x</h2><div>System.InvalidOperationException: Sequence contains no elements</div>`},
		False: []string{`{"title":"An error occurred while processing your request.","status":500}`},
	},
	{
		ID: "dotnet-stack-trace", Platform: ".NET", Rule: &RuleErrorsStackTrace,
		All:   []*regexp.Regexp{re(`\bSystem\.[\w.]+Exception\b`), re(`(?:\s|\\[nt])at [\w.<>` + "`" + `]+\([^)]*\) in [^\n"]+\.cs:line \d+`)},
		True:  []string{"System.FormatException: Input string was not in a correct format.\n   at Shop.Api.OrdersController.Get(String id) in /src/Shop.Api/OrdersController.cs:line 42"},
		False: []string{`{"error":"System.FormatException"}`},
	},
	{
		ID: "node-stack-trace", Platform: "Node.js", Rule: &RuleErrorsStackTrace,
		All: []*regexp.Regexp{re(`\b(?:[A-Z]\w*Error|Error)(?: \[[\w_]+\])?: `), nodeFrame},
		True: []string{
			"TypeError: Cannot read properties of undefined (reading 'id')\n    at getOrder (/app/src/orders.js:10:5)\n    at Layer.handle [as handle_request] (/app/node_modules/express/lib/router/layer.js:95:5)",
			`<pre>SyntaxError: Unexpected token } in JSON at position 9<br> &nbsp; &nbsp;at JSON.parse (&lt;anonymous&gt;)<br> &nbsp; &nbsp;at parse (/app/node_modules/body-parser/lib/types/json.js:92:19)</pre>`,
		},
		False: []string{
			`{"error":"TypeError: something went wrong"}`,
			`{"message":"meet at the cafe (/app/menu: 10:5)"}`,
		},
	},
	{
		ID: "go-panic", Platform: "Go", Rule: &RuleErrorsStackTrace,
		All:   []*regexp.Regexp{re(`goroutine \d+ \[running\]:`), re(`\.go:\d+`)},
		True:  []string{"panic: runtime error: invalid memory address or nil pointer dereference\n\ngoroutine 18 [running]:\nmain.handler(...)\n\t/app/main.go:42 +0x1d"},
		False: []string{`{"error":"the server recovered from a panic"}`, "goroutine 1 [running]: see docs"},
	},
	{
		ID: "php-error", Platform: "PHP", Rule: &RuleErrorsStackTrace,
		All: []*regexp.Regexp{re(`(?:Fatal error|Parse error|Warning|Notice|Deprecated)(?:</b>)?:\s.{0,300}? in (?:<b>)?[^\s<]+\.php(?:</b>)? on line (?:<b>)?\d+`)},
		True: []string{
			`<b>Fatal error</b>:  Uncaught Error: Call to a member function get() on null in <b>/var/www/api.php</b> on line <b>12</b>`,
			`Warning: Undefined array key "id" in /var/www/html/index.php on line 7`,
		},
		False: []string{`{"warning":"deprecated field, see line 3 of the docs"}`},
	},
	{
		ID: "php-stack-trace", Platform: "PHP", Rule: &RuleErrorsStackTrace,
		All:   []*regexp.Regexp{re(`Stack trace:`), re(`#0 (?:[^\n]*\.php\(\d+\)|\{main\})`)},
		True:  []string{"PHP Fatal error:  Uncaught Exception: x\nStack trace:\n#0 /var/www/api.php(12): handle()\n#1 {main}"},
		False: []string{`{"hint":"see the Stack trace: section of the runbook"}`},
	},
	{
		ID: "rails-exception-page", Platform: "Ruby (Rails)", Rule: &RuleErrorsDebugPage,
		All:   []*regexp.Regexp{re(`Action Controller: Exception caught`), re(`(?i)Rails\.root|Application Trace|Full Trace|Routing Error`)},
		True:  []string{`<title>Action Controller: Exception caught</title><p><code>Rails.root: /app</code></p><a>Application Trace</a>`},
		False: []string{`<title>Action Controller overview</title>`},
	},
	{
		ID: "ruby-stack-trace", Platform: "Ruby", Rule: &RuleErrorsStackTrace,
		All:   []*regexp.Regexp{re(`\b(?:[A-Z]\w*::)*[A-Z]\w*(?:Error|Exception|NotFound|Invalid)\b`), rubyFrame},
		True:  []string{"NoMethodError: undefined method `id' for nil\napp/controllers/orders_controller.rb:12:in `show'"},
		False: []string{`{"error":"NoMethodError"}`},
	},
	{
		ID: "mysql-error", Platform: "MySQL / MariaDB", Rule: &RuleErrorsSQL,
		All: []*regexp.Regexp{re(`(?i)\b(?:MySQL|MariaDB)\b|Error \d{4} \(\w{5}\)|com\.mysql\.|MySqlException`),
			re(`(?i)error in your SQL syntax|check the manual that (?:corresponds|fits) to your|Unknown column '[^']*' in|Table '[^']*' doesn't exist`)},
		True: []string{
			"Error 1064 (42000): You have an error in your SQL syntax; check the manual that corresponds to your MySQL server version for the right syntax to use near ''' at line 1",
			`{"error":"Unknown column 'x' in 'where clause' (MySQL)"}`,
		},
		False: []string{`{"db":"MySQL 8","status":"ok"}`, `{"error":"invalid syntax in query parameter"}`},
	},
	{
		ID: "postgres-error", Platform: "PostgreSQL", Rule: &RuleErrorsSQL,
		All: []*regexp.Regexp{re(`\bpq: |PG::\w+|PSQLException|org\.postgresql|Npgsql|PostgreSQL|\(SQLSTATE [0-9A-Z]{5}\)|ERROR:  `),
			re(`syntax error at or near|unterminated quoted string|invalid input syntax for|relation "[^"]*" does not exist|column "[^"]*" does not exist|parse error at or near`)},
		True: []string{
			`pq: syntax error at or near "'"`,
			`ERROR:  syntax error at or near "x" LINE 1: select * from t where id = x`,
			`{"error":"ERROR: invalid input syntax for type integer: \"abc\" (SQLSTATE 22P02)"}`,
		},
		False: []string{`{"error":"syntax error at or near the end of your input"}`, `{"engine":"PostgreSQL","healthy":true}`},
	},
	{
		ID: "mssql-error", Platform: "Microsoft SQL Server", Rule: &RuleErrorsSQL,
		All: []*regexp.Regexp{re(`Unclosed quotation mark (?:after|before) the character string|(?:SqlException|SQL Server|SQLServerException|com\.microsoft\.sqlserver)[\s\S]{0,400}?Incorrect syntax near`)},
		True: []string{
			`Unclosed quotation mark after the character string ''.`,
			`System.Data.SqlClient.SqlException (0x80131904): Incorrect syntax near 'x'.`,
		},
		False: []string{`{"error":"Incorrect syntax near the top of your file"}`},
	},
	{
		ID: "oracle-error", Platform: "Oracle", Rule: &RuleErrorsSQL,
		All:   []*regexp.Regexp{re(`\bORA-\d{5}: `), re(`(?i)SQL command|quoted string|missing expression|invalid (?:identifier|number)|table or view`)},
		True:  []string{`ORA-01756: quoted string not properly terminated`},
		False: []string{`{"ref":"ORA-12345","note":"order reference"}`},
	},
	{
		ID: "sqlite-error", Platform: "SQLite", Rule: &RuleErrorsSQL,
		All: []*regexp.Regexp{re(`(?i)sqlite|SQLITE_ERROR|near "[^"]*": syntax error|unrecognized token: "`),
			re(`(?i)syntax error|unrecognized token|no such (?:table|column)|OperationalError|SQLException|SQL logic error`)},
		True: []string{
			`near "'": syntax error`,
			`sqlite3.OperationalError: no such column: abc`,
			`{"error":"SQL logic error: unrecognized token: \"'\" (1)"}`,
		},
		False: []string{`{"storage":"sqlite","error_count":0}`, `{"error":"syntax error in filter"}`},
	},
	{
		ID: "orm-error", Platform: "ORM", Rule: &RuleErrorsSQL,
		All: []*regexp.Regexp{re(`sqlalchemy\.exc\.\w+|org\.hibernate\.exception\.\w+|PrismaClient\w*Error|Sequelize\w*Error|SQLSTATE\[\w+\]`),
			re(`(?i)syntax|invalid|constraint|does not exist|no such|access violation|sqlalche\.me`)},
		True: []string{
			`sqlalchemy.exc.ProgrammingError: (psycopg2.errors.SyntaxError) syntax error`,
			`SQLSTATE[42000]: Syntax error or access violation: 1064`,
		},
		False: []string{`{"orm":"Prisma","valid":true}`},
	},
}

// signatureHit is one signature that matched a body.
type signatureHit struct {
	Sig     *errorSignature
	Excerpt string
}

// matchSignatures returns the signatures matching body, with the text around the first
// pattern's match. The body is also searched in its HTML-unescaped and JSON-decoded forms,
// so a trace inside a JSON string or an HTML page is recognised as well.
func matchSignatures(body []byte) []signatureHit {
	forms := bodyForms(body)
	var out []signatureHit
	for i := range errorSignatures {
		sig := &errorSignatures[i]
		for _, text := range forms {
			if ok, excerpt := sig.match(text); ok {
				out = append(out, signatureHit{Sig: sig, Excerpt: excerpt})
				break
			}
		}
	}
	return out
}

func (sig *errorSignature) match(text string) (bool, string) {
	var first []int
	for i, r := range sig.All {
		loc := r.FindStringIndex(text)
		if loc == nil {
			return false, ""
		}
		if i == 0 {
			first = loc
		}
	}
	start := max(first[0]-60, 0)
	end := min(first[1]+300, len(text))
	return true, strings.TrimSpace(text[start:end])
}

// bodyForms returns the body HTML-unescaped, as the JSON strings it contains, and as it
// is; the readable forms come first, since the first match gives the finding's excerpt.
func bodyForms(body []byte) []string {
	raw := string(body)
	var forms []string
	if un := html.UnescapeString(raw); un != raw {
		forms = append(forms, un)
	}
	var v any
	if json.Unmarshal(body, &v) == nil {
		var b strings.Builder
		jsonStrings(v, &b)
		if b.Len() > 0 {
			forms = append(forms, b.String())
		}
	}
	return append(forms, raw)
}

func jsonStrings(v any, b *strings.Builder) {
	switch x := v.(type) {
	case string:
		b.WriteString(x)
		b.WriteByte('\n')
	case map[string]any:
		for _, e := range x {
			jsonStrings(e, b)
		}
	case []any:
		for _, e := range x {
			jsonStrings(e, b)
		}
	}
}
