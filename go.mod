module github.com/apigate/apigate

go 1.26.8

require (
	github.com/getkin/kin-openapi v0.153.0
	github.com/google/go-github/v62 v62.0.0
	github.com/owenrumney/go-sarif/v2 v2.3.3
	github.com/santhosh-tekuri/jsonschema/v6 v6.0.3
	github.com/sethvargo/go-githubactions v1.3.0
	go.yaml.in/yaml/v4 v4.0.0
	golang.org/x/crypto v0.56.0
	gopkg.in/yaml.v3 v3.0.1
)

require (
	github.com/go-openapi/jsonpointer v0.22.5 // indirect
	github.com/go-openapi/swag/jsonname v0.25.5 // indirect
	github.com/google/go-querystring v1.1.0 // indirect
	github.com/kr/pretty v0.3.1 // indirect
	golang.org/x/text v0.41.0 // indirect
)
