package probes

// maxTransportErrors is how many transport failures (timeouts, resets, cut bodies) the
// rate-limit, versioning and logging probes accept before they stop sending: a target that
// hangs must not cost a timeout per planned request.
const maxTransportErrors = 3

// opsBroken reports whether this probe's requests have failed at the transport level often
// enough to stop.
func opsBroken(s *Session) bool {
	return s.Client.Stats().Errors.Load() >= maxTransportErrors
}
