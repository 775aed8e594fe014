package compose

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
	"go.yaml.in/yaml/v4"

	"github.com/apigate/apigate/internal/finding"
)

// Spec is what apigate needs from a compose file: the project as compose itself reads it,
// and the service and port to scan.
type Spec struct {
	// File is the compose file's absolute path, as apigate sees it.
	File string
	// Dir is the project directory (the compose file's directory).
	Dir string
	// Project is the model compose-go loaded, with env interpolation and path resolution.
	Project *types.Project
	// Service is the service to scan.
	Service string
	// Port is the service's container port the API listens on.
	Port int
	// Published reports whether Port is published on the host by the compose file itself.
	Published bool
	// OtherPorts are the service's other TCP container ports (published or exposed), where a
	// service with TLS on Port may answer plain HTTP.
	OtherPorts []int
	// Healthcheck reports whether the service has a healthcheck to wait for.
	Healthcheck bool
	// Line is the line of the compose file where the service is defined (1-based).
	Line int
}

// Load reads the compose file with compose-go, the library docker compose itself uses, and
// picks the service and port to scan. service and port may be empty and 0 to choose the
// defaults: the only service that publishes a port, and its first published port.
func Load(ctx context.Context, file, service string, port int) (*Spec, error) {
	abs, err := filepath.Abs(file)
	if err != nil {
		return nil, &Error{Kind: KindFile, Msg: fmt.Sprintf("compose file %s: %v", file, err)}
	}
	raw, err := os.ReadFile(abs)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, &Error{Kind: KindFile, Msg: fmt.Sprintf("compose file %s does not exist", file)}
		}
		return nil, &Error{Kind: KindFile, Msg: fmt.Sprintf("read compose file %s: %v", file, err)}
	}
	dir := filepath.Dir(abs)
	opts, err := cli.NewProjectOptions([]string{abs},
		cli.WithWorkingDirectory(dir),
		cli.WithOsEnv,
		cli.WithDotEnv,
		// The project name only matters for the model; the real one is chosen per run.
		cli.WithName("apigate"),
	)
	if err != nil {
		return nil, &Error{Kind: KindFile, Msg: fmt.Sprintf("compose file %s: %v", file, err)}
	}
	p, err := opts.LoadProject(ctx)
	if err != nil {
		return nil, &Error{Kind: KindFile, Msg: invalidFileMessage(file, abs, raw, err)}
	}
	s := &Spec{File: abs, Dir: dir, Project: p}
	if err := s.choose(service, port); err != nil {
		return nil, err
	}
	s.Line = serviceLine(raw, s.Service)
	return s, nil
}

// choose picks the service and the container port.
func (s *Spec) choose(service string, port int) error {
	names := s.Project.ServiceNames()
	sort.Strings(names)
	if len(names) == 0 {
		return &Error{Kind: KindFile, Msg: fmt.Sprintf("compose file %s defines no service", s.File)}
	}
	if service == "" {
		var publishing []string
		for _, n := range names {
			if len(s.Project.Services[n].Ports) > 0 {
				publishing = append(publishing, n)
			}
		}
		switch len(publishing) {
		case 1:
			service = publishing[0]
		case 0:
			if len(names) == 1 {
				service = names[0]
				break
			}
			return &Error{Kind: KindTarget, Msg: fmt.Sprintf(
				"no service of %s publishes a port, so the API to scan is ambiguous; "+
					"name it with --service (one of: %s)", s.File, strings.Join(names, ", "))}
		default:
			return &Error{Kind: KindTarget, Msg: fmt.Sprintf(
				"%d services of %s publish ports; name the API to scan with --service "+
					"(one of: %s)", len(publishing), s.File, strings.Join(publishing, ", "))}
		}
	}
	svc, ok := s.Project.Services[service]
	if !ok {
		return &Error{Kind: KindTarget, Msg: fmt.Sprintf("compose file %s has no service %q (services: %s)",
			s.File, service, strings.Join(names, ", "))}
	}
	s.Service = service
	s.Healthcheck = svc.HealthCheck != nil && !svc.HealthCheck.Disable

	var ports []int
	for _, p := range svc.Ports {
		if p.Protocol != "" && p.Protocol != "tcp" {
			continue
		}
		if !slices.Contains(ports, int(p.Target)) {
			ports = append(ports, int(p.Target))
		}
	}
	published := len(ports) > 0
	if !published {
		for _, e := range svc.Expose {
			lo, _, _ := strings.Cut(strings.TrimSuffix(e, "/tcp"), "-")
			if n, err := strconv.Atoi(lo); err == nil && !slices.Contains(ports, n) {
				ports = append(ports, n)
			}
		}
	}
	defer func() {
		for _, p := range allPorts(svc) {
			if p != s.Port {
				s.OtherPorts = append(s.OtherPorts, p)
			}
		}
	}()
	switch {
	case port > 0:
		s.Port = port
		s.Published = published && slices.Contains(ports, port)
	case len(ports) == 1:
		s.Port, s.Published = ports[0], published
	case len(ports) == 0:
		return &Error{Kind: KindTarget, Msg: fmt.Sprintf(
			"service %q neither publishes nor exposes a port; name the API's container port with --port",
			service)}
	default:
		var list []string
		for _, p := range ports {
			list = append(list, strconv.Itoa(p))
		}
		return &Error{Kind: KindTarget, Msg: fmt.Sprintf(
			"service %q has several ports (%s); name the API's container port with --port",
			service, strings.Join(list, ", "))}
	}
	return nil
}

// allPorts lists a service's TCP container ports, published and exposed, once each.
func allPorts(svc types.ServiceConfig) []int {
	var out []int
	for _, p := range svc.Ports {
		if (p.Protocol == "" || p.Protocol == "tcp") && !slices.Contains(out, int(p.Target)) {
			out = append(out, int(p.Target))
		}
	}
	for _, e := range svc.Expose {
		lo, _, _ := strings.Cut(strings.TrimSuffix(e, "/tcp"), "-")
		if n, err := strconv.Atoi(lo); err == nil && !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}

// Location is the compose file line that defines the scanned service, the anchor for
// findings that have no better source line. Its file is relative to root, the
// repository root; a file outside root keeps its absolute path.
func (s *Spec) Location(root string) finding.Location {
	file := s.File
	if root != "" {
		if abs, err := filepath.Abs(root); err == nil {
			root = abs
		}
		if r, err := filepath.Rel(root, s.File); err == nil && !strings.HasPrefix(r, "..") {
			file = r
		}
	}
	line := s.Line
	if line == 0 {
		line = 1
	}
	return finding.Location{File: filepath.ToSlash(file), Line: line, Column: 1, Kind: "compose"}
}

// serviceLine finds the line of the key services.<name>. It returns 0 when the service
// comes from somewhere else (an include or an extends).
func serviceLine(raw []byte, name string) int {
	var doc yaml.Node
	if err := yaml.Unmarshal(raw, &doc); err != nil || len(doc.Content) == 0 {
		return 0
	}
	services := mappingValue(doc.Content[0], "services")
	if services == nil {
		return 0
	}
	for i := 0; i+1 < len(services.Content); i += 2 {
		if services.Content[i].Value == name {
			return services.Content[i].Line
		}
	}
	return 0
}

func mappingValue(n *yaml.Node, key string) *yaml.Node {
	if n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// invalidFileMessage says what compose-go rejected, and where, as file:line[:column]:
// compose-go names the line for YAML syntax errors but only the key path
// ("services.api.ports") for schema errors, so that path is looked up in the file.
func invalidFileMessage(file, abs string, raw []byte, err error) string {
	msg := err.Error()
	for _, prefix := range []string{"validating " + abs + ": ", "failed to parse " + abs + ": "} {
		msg = strings.Replace(msg, prefix, "", 1)
	}
	where := file
	if m := yamlLine.FindAllStringSubmatch(msg, -1); len(m) > 0 {
		last := m[len(m)-1]
		where += ":" + last[1]
		if last[2] != "" {
			where += ":" + last[2]
		}
	} else if line := keyPathLine(raw, msg); line > 0 {
		where += ":" + strconv.Itoa(line)
	}
	return fmt.Sprintf("invalid compose file %s: %s", where, msg)
}

var yamlLine = regexp.MustCompile(`line (\d+)(?:, column (\d+))?`)

// keyPathLine finds the deepest dotted key path (services.api.ports...) named in msg and
// returns its line in raw, or 0.
func keyPathLine(raw []byte, msg string) int {
	var doc yaml.Node
	if yaml.Unmarshal(bytes.TrimSpace(raw), &doc) != nil || len(doc.Content) == 0 {
		return 0
	}
	best := 0
	for _, word := range strings.Fields(msg) {
		word = strings.Trim(word, "\"'`:,()")
		if !strings.Contains(word, ".") {
			continue
		}
		n := doc.Content[0]
		line := 0
		for _, key := range strings.Split(word, ".") {
			switch n.Kind {
			case yaml.MappingNode:
				var next *yaml.Node
				for i := 0; i+1 < len(n.Content); i += 2 {
					if n.Content[i].Value == key {
						line, next = n.Content[i].Line, n.Content[i+1]
						break
					}
				}
				n = next
			case yaml.SequenceNode:
				i, err := strconv.Atoi(key)
				if err != nil || i < 0 || i >= len(n.Content) {
					n = nil
					break
				}
				n = n.Content[i]
				line = n.Line
			default:
				n = nil
			}
			if n == nil {
				break
			}
		}
		if line > best {
			best = line
		}
	}
	return best
}
