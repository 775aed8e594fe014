package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// checkOutputs validates every report path before anything starts, so a typo costs a
// second instead of a whole boot-and-scan: the parent directory exists and is writable,
// the path is not a directory, and no two reports share a file.
func (o *scanOptions) checkOutputs() error {
	outs := []struct{ flag, path string }{
		{"--output", o.Output}, {"--sarif", o.SARIFFile}, {"--json", o.JSONFile},
		{"--markdown", o.MDFile},
	}
	seen := map[string]string{}
	for _, out := range outs {
		if out.path == "" {
			continue
		}
		if err := checkOutputPath(out.flag, out.path); err != nil {
			return err
		}
		abs, err := filepath.Abs(out.path)
		if err != nil {
			return usagef("%s %s: %v", out.flag, out.path, err)
		}
		if prev, ok := seen[abs]; ok {
			return usagef("%s and %s both name %s: give each report its own file",
				prev, out.flag, out.path)
		}
		seen[abs] = out.flag
	}
	return nil
}

// checkOutputPath is the check for one report file: a usage error naming the user's path
// when the file could not be written.
func checkOutputPath(flag, path string) error {
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		return usagef("%s %s is a directory; name a file in it", flag, path)
	}
	dir := filepath.Dir(path)
	st, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return usagef("%s %s: directory %s does not exist", flag, path, dir)
	case err != nil:
		return usagef("%s %s: %v", flag, path, pathErr(err))
	case !st.IsDir():
		return usagef("%s %s: %s is not a directory", flag, path, dir)
	}
	// Writability is tried, not guessed from mode bits: ACLs, read-only mounts and root
	// all decide differently. The probe file is removed at once.
	probe, err := os.CreateTemp(dir, ".apigate-check-*")
	if err != nil {
		return usagef("%s %s: directory %s is not writable: %v", flag, path, dir, pathErr(err))
	}
	probe.Close()
	os.Remove(probe.Name())
	return nil
}

// pathErr drops the file name from an *fs.PathError, so a message can name the user's
// path instead of a temporary file's.
func pathErr(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	var le *os.LinkError
	if errors.As(err, &le) {
		return le.Err
	}
	return err
}

// reportErr is a write-time failure of one report file, naming the user's path.
func reportErr(format, path string, err error) error {
	return fmt.Errorf("write %s report to %s: %w", format, path, pathErr(err))
}
