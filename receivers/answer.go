package receivers

import (
	"fmt"
	"time"
)

// The China IM robots (DingTalk, WeCom, Feishu) answer HTTP 200 whether or not they took
// the message, and say which in the body: an error code and a message. The relays people
// run today ignore it and lose pages; here each platform has a table of the codes it
// documents, and everything else is retried a few times, then dead, with the code kept.

// CodeClass is what an answer's code means for the dispatcher.
type CodeClass int

// The classes of answer codes.
const (
	// CodeUnknown is a code the platform's table does not list: retried UnknownCodeAttempts
	// times in all, then dead.
	CodeUnknown CodeClass = iota
	// CodeThrottled is a rate limit: the receiver pauses, and the attempt does not count.
	CodeThrottled
	// CodeSecurity is a refusal by the robot's security settings (signature, keyword, IP
	// allow-list): permanent until someone fixes the config, and the error says where to look.
	CodeSecurity
	// CodeRejected is a message the platform will never take (malformed, too long, a
	// robot that was deleted): permanent.
	CodeRejected
	// CodeServer is the platform's own failure: retried like a 5xx.
	CodeServer
)

// UnknownCodeAttempts bounds the attempts at a notification that keeps getting an
// undocumented code.
const UnknownCodeAttempts = 5

// CodeMeaning is one row of a platform's table of answer codes.
type CodeMeaning struct {
	Class CodeClass
	// Hint says what to check, for security and rejected codes: "check the robot's
	// signing secret (secret or secret_file) and this host's clock".
	Hint string
}

// AnswerError is a robot's refusal: the platform, its code and message, and what to check.
type AnswerError struct {
	Platform string
	Code     int
	Msg      string
	Hint     string
}

func (e *AnswerError) Error() string {
	s := fmt.Sprintf("%s answered code %d", e.Platform, e.Code)
	if msg := Excerpt([]byte(e.Msg), 200); msg != "" {
		s += fmt.Sprintf(" (%s)", msg)
	}
	if e.Hint != "" {
		s += ": " + e.Hint
	}
	return s
}

// CodeAnswer turns a robot's answer code into an error classified for the dispatcher: nil
// for 0 (success), else an *AnswerError wrapped by its class in table. Throttled answers
// ask for a pause of throttleWait: the robots do not say how long.
func CodeAnswer(platform string, code int, msg string, table map[int]CodeMeaning, throttleWait time.Duration) error {
	if code == 0 {
		return nil
	}
	meaning, known := table[code]
	err := &AnswerError{Platform: platform, Code: code, Msg: msg, Hint: meaning.Hint}
	switch {
	case !known:
		return LimitedRetries(err, UnknownCodeAttempts)
	case meaning.Class == CodeThrottled:
		return Throttled(err, throttleWait)
	case meaning.Class == CodeSecurity, meaning.Class == CodeRejected:
		return Permanent(err)
	default:
		return err
	}
}

// NoCodeAnswer is the error of a 2xx answer without the platform's code: not JSON, or
// JSON of another shape (a captive portal, a relay's page). Retried: whatever answered
// may step aside. It quotes the start of the answer, to recognise it by.
func NoCodeAnswer(platform string, answer []byte) error {
	return fmt.Errorf("%s answered without a code: %s", platform, Excerpt(answer, 120))
}
