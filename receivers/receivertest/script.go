package receivertest

import (
	"net/http"
	"sync"
)

// Script is the knobs the IM robot fakes share (dingtalktest, wecomtest, feishutest):
// answers a test scripts in place of the platform's own. Each fake embeds it, so the
// knobs have the same names on every platform, and applies them where the platform
// would. Its zero value scripts nothing; it is safe to use while the fake serves.
type Script struct {
	mu     sync.Mutex
	code   int
	msg    string
	status int
	answer func(http.ResponseWriter)
}

// Refuse answers every valid request from now on with the platform's error code and
// message (a security failure, a code nobody documented...), recording nothing; 0 stops.
func (s *Script) Refuse(code int, msg string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.code, s.msg = code, msg
}

// FailStatus answers every request from now on with an HTTP status (a 5xx from the
// platform's gateway), recording nothing; 0 stops.
func (s *Script) FailStatus(status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.status = status
}

// SetAnswer scripts the answer to every request from now on (a body that is not JSON, a
// captive portal's page); nil answers as the platform does. Scripted answers record
// nothing.
func (s *Script) SetAnswer(answer func(w http.ResponseWriter)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.answer = answer
}

// Scripted is what the test scripted: the code and message to refuse with (code 0: none),
// the HTTP status to fail with (0: none) and the answer to give (nil: none).
func (s *Script) Scripted() (code int, msg string, status int, answer func(http.ResponseWriter)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.code, s.msg, s.status, s.answer
}
