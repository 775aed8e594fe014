package httpx

// redactedError carries a transport error whose text went through the redactor: net/http
// quotes the whole URL in its errors, query-string API keys included. errors.Is and As still
// see the original, so callers can tell a timeout from a reset.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// redactErr returns err with every secret hidden in its message; nil stays nil.
func redactErr(r *Redactor, err error) error {
	if err == nil {
		return nil
	}
	msg := r.Redact(err.Error())
	if msg == err.Error() {
		return err
	}
	return &redactedError{msg: msg, err: err}
}
