package apk

import "fmt"

// exception is an error as Android's verifiers throw it: a message and the
// exception that caused it. Its Error() is the chain joined with ": ",
// which is what ExceptionUtils.getCompleteMessage makes of it and what
// `pm install` prints inside "Failure [...]".
type exception struct {
	msg   string
	cause error
}

func (e *exception) Error() string {
	if e.cause == nil {
		return e.msg
	}
	return e.msg + ": " + e.cause.Error()
}

func (e *exception) Unwrap() error { return e.cause }

// throw makes an exception caused by cause (nil for none).
func throw(cause error, format string, args ...any) error {
	return &exception{msg: fmt.Sprintf(format, args...), cause: cause}
}

// notFound is SignatureNotFoundException: a scheme's signature is absent
// (or cannot even be located), so Android falls back to the older scheme.
type notFound struct{ msg string }

func (e *notFound) Error() string { return e.msg }

func noSignature(format string, args ...any) error {
	return &notFound{msg: fmt.Sprintf(format, args...)}
}
