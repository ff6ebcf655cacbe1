// Package dingtalk posts notifications to a DingTalk (钉钉) group's custom robot, as one
// markdown (or plain text) message per notification, signed when the robot is secured by
// signing ("加签"). DingTalk answers HTTP 200 whether or not it took the message: success is
// errcode 0 in the body, and every other code is classified (throttled, security, rejected),
// so that no page is lost the way the relays people run today lose them.
package dingtalk

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/alertrouter/alertrouter/receivers"
)

// Platform names DingTalk in answer errors.
const Platform = "dingtalk"

// Message types.
const (
	Markdown = "markdown"
	Text     = receivers.TextMessage
)

// Limits.
const (
	// MaxText is the most bytes DingTalk takes in a message's text (markdown.text or
	// text.content), measured on what is sent: heading, mentions and keyword included.
	MaxText = 20000
	// maxTitle bounds the markdown title, the plain preview DingTalk shows in
	// notifications and the chat list: a long one is unreadable there anyway.
	maxTitle = 128
	// maxHeading bounds the title where it heads the text, so that a huge group label
	// cannot crowd the alerts out of the message.
	maxHeading = 1024
)

// Defaults follow DingTalk's limit of 20 messages a minute per robot, with room to spare:
// a robot that keeps going past it is throttled for 10 minutes. burst + 60*rate stays
// within 20 messages in any minute.
var defaults = receivers.RobotDefaults{RateLimit: 0.25, Burst: 5, ThrottleWait: 60 * time.Second, MessageTypes: []string{Markdown, Text}}

// Config configures a DingTalk custom robot.
type Config struct {
	receivers.RobotConfig `yaml:",inline"`
	// RobotSecret is the robot's signing secret (SEC...), for robots secured by signing.
	receivers.RobotSecret `yaml:",inline"`
	// Keyword is for robots secured by keyword: DingTalk refuses a message whose text does
	// not contain one of the robot's keywords, so it is added when missing.
	Keyword string `yaml:"keyword"`
	// At are the mentions every message makes: ours, never the data's.
	At At `yaml:"at"`
}

// At are the people a message mentions (and so rings).
type At struct {
	Mobiles []string `yaml:"mobiles"`
	UserIDs []string `yaml:"user_ids"`
	All     bool     `yaml:"all"`
}

var (
	_ receivers.Config          = (*Config)(nil)
	_ receivers.SecretFiler     = (*Config)(nil)
	_ receivers.TemplateChecker = (*Config)(nil)
)

var (
	mobile = regexp.MustCompile(`^\+?[0-9][0-9-]{2,19}$`)
	userID = regexp.MustCompile(`^[^\s@<>\[\]()#&*]{1,64}$`)
)

// Validate checks the config and fills in defaults; errors never quote a secret.
func (c *Config) Validate() error {
	if err := c.RobotConfig.Validate(defaults); err != nil {
		return err
	}
	if err := c.RobotSecret.Validate(); err != nil {
		return err
	}
	if c.WebhookURL != "" {
		if err := checkToken(string(c.WebhookURL)); err != nil {
			return &receivers.FieldError{Field: "webhook_url", Msg: err.Error()}
		}
	}
	if c.Keyword != "" {
		switch {
		case strings.TrimSpace(c.Keyword) != c.Keyword || strings.ContainsFunc(c.Keyword, unicode.IsControl):
			return &receivers.FieldError{Field: "keyword", Msg: "must not start or end with spaces nor hold line breaks or control characters"}
		case !utf8.ValidString(c.Keyword) || len(c.Keyword) > 200:
			return &receivers.FieldError{Field: "keyword", Msg: "want one of the robot's keywords, in at most 200 bytes of UTF-8"}
		}
	}
	for i, m := range c.At.Mobiles {
		if !mobile.MatchString(m) {
			return &receivers.FieldError{Field: fmt.Sprintf("at.mobiles[%d]", i), Msg: fmt.Sprintf("%q is not a mobile number such as 13800000000", m)}
		}
	}
	for i, id := range c.At.UserIDs {
		if !userID.MatchString(id) {
			return &receivers.FieldError{Field: fmt.Sprintf("at.user_ids[%d]", i), Msg: fmt.Sprintf("%q is not a DingTalk user id (1 to 64 characters, no spaces or markup)", id)}
		}
	}
	return nil
}

// SecretFiles lists the configured secret files by field.
func (c *Config) SecretFiles() map[string]string {
	return map[string]string{"webhook_url_file": c.WebhookURLFile, "secret_file": c.SecretFile}
}

// checkToken makes sure a webhook URL carries the robot's access token: without it
// DingTalk answers "token is not exist" for every message. It never quotes the URL.
func checkToken(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return errors.New("not a valid URL")
	}
	if u.Query().Get("access_token") == "" {
		return errors.New("has no access_token in its query (want https://oapi.dingtalk.com/robot/send?access_token=...)")
	}
	return nil
}

// Receiver posts to a DingTalk robot.
type Receiver struct {
	receivers.Robot
	conf *Config
}

var (
	_ receivers.Receiver    = (*Receiver)(nil)
	_ receivers.RateLimited = (*Receiver)(nil)
	_ receivers.Folder      = (*Receiver)(nil)
)

// New returns a receiver for a validated conf.
func New(conf *Config, tmpl *receivers.Templates) *Receiver {
	return &Receiver{Robot: receivers.NewRobot(&conf.RobotConfig, tmpl), conf: conf}
}

// Fits reports whether m renders in one message within MaxText with all its alerts: it
// measures exactly what Send would send.
func (r *Receiver) Fits(m *receivers.Message) (bool, error) {
	p, err := r.prepare(m)
	if err != nil {
		return false, err
	}
	ok, err := p.fit.Fits(p.data, p.body)
	if err != nil {
		return false, receivers.Permanent(fmt.Errorf("render text: %w", err))
	}
	return ok, nil
}

// Send posts the notification as one message.
func (r *Receiver) Send(ctx context.Context, m *receivers.Message) (err error) {
	secrets := r.conf.Secrets()
	defer func() { err = receivers.Scrub(err, secrets...) }()
	body, err := r.message(m)
	if err != nil {
		return err
	}
	client, err := r.Client()
	if err != nil {
		return err
	}
	hook, err := r.conf.URL()
	if err != nil {
		return err
	}
	secrets = append(secrets, hook)
	if err := checkToken(hook); err != nil {
		return receivers.Permanent(fmt.Errorf("webhook_url_file: %w", err))
	}
	secret, err := r.conf.RobotSecret.Read()
	if err != nil {
		return fmt.Errorf("secret_file: %w", err)
	}
	secrets = append(secrets, secret)
	target, err := Sign(hook, secret, time.Now())
	if err != nil {
		return receivers.Permanent(err)
	}
	secrets = append(secrets, target)
	answer, err := receivers.PostForAnswer(ctx, client, target, body, nil)
	if err != nil {
		return err
	}
	return r.classify(answer)
}

// Sign adds DingTalk's signature to a webhook URL: timestamp (Unix milliseconds) and
// sign = base64(HMAC-SHA256(key = secret, message = timestamp + "\n" + secret)),
// URL-encoded in the query beside access_token. Without a secret the URL is unchanged.
func Sign(hook, secret string, now time.Time) (string, error) {
	if secret == "" {
		return hook, nil
	}
	u, err := url.Parse(hook)
	if err != nil {
		return "", errors.New("webhook URL: not a valid URL")
	}
	ts := strconv.FormatInt(now.UnixMilli(), 10)
	q := u.Query()
	q.Set("timestamp", ts)
	q.Set("sign", receivers.HMACSHA256(secret, ts+"\n"+secret))
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// The bodies DingTalk takes.
type (
	body struct {
		MsgType  string        `json:"msgtype"`
		Markdown *markdownPart `json:"markdown,omitempty"`
		Text     *textPart     `json:"text,omitempty"`
		At       atPart        `json:"at"`
	}
	markdownPart struct {
		Title string `json:"title"`
		Text  string `json:"text"`
	}
	textPart struct {
		Content string `json:"content"`
	}
	atPart struct {
		AtMobiles []string `json:"atMobiles"`
		AtUserIDs []string `json:"atUserIds"`
		IsAtAll   bool     `json:"isAtAll"`
	}
)

// message renders m into the request body. A render error is permanent: the same
// template fails the same way on every attempt.
func (r *Receiver) message(m *receivers.Message) ([]byte, error) {
	p, err := r.prepare(m)
	if err != nil {
		return nil, err
	}
	text, err := p.fit.Render(p.data, p.body)
	if err != nil {
		return nil, receivers.Permanent(fmt.Errorf("render text: %w", err))
	}
	b := body{MsgType: r.conf.MessageType, At: atPart{
		// Empty lists, not null: DingTalk's own examples send [] and so do we.
		AtMobiles: append([]string{}, r.conf.At.Mobiles...),
		AtUserIDs: append([]string{}, r.conf.At.UserIDs...),
		IsAtAll:   r.conf.At.All,
	}}
	if r.conf.MessageType == Text {
		b.Text = &textPart{Content: p.compose(text)}
	} else {
		b.Markdown = &markdownPart{Title: p.preview, Text: p.compose(text)}
	}
	out, err := receivers.MarshalJSON(b)
	if err != nil {
		return nil, receivers.Permanent(fmt.Errorf("encode message: %w", err))
	}
	return out, nil
}

// Preview is the body Send would post.
func (r *Receiver) Preview(m *receivers.Message) (string, error) {
	b, err := r.message(m)
	return string(b), err
}

var (
	_ receivers.Previewer    = (*Receiver)(nil)
	_ receivers.ActionLinked = (*Receiver)(nil)
)

// prepared is a notification ready to render: Send and Fits share it, so that they measure
// the same text.
type prepared struct {
	preview string
	data    *receivers.Data
	// body renders the alerts; compose wraps a rendering in what DingTalk counts with it
	// (heading, mentions, keyword); fit measures compose's result.
	body    func(*receivers.Data) (string, error)
	compose func(string) string
	fit     receivers.Fit
}

func (r *Receiver) prepare(m *receivers.Message) (*prepared, error) {
	data := r.Data(m)
	title, err := r.Title(data)
	if err != nil {
		return nil, receivers.Permanent(fmt.Errorf("render title: %w", err))
	}
	title = plain(title)
	heading := receivers.TruncateBytes(title, maxHeading)
	mentions := r.mentions()
	sep, head := "\n\n", "### "+heading+"\n\n"
	if r.conf.MessageType == Text {
		sep, head = "\n", heading+"\n"
	}
	compose := func(text string) string {
		s := head + strings.TrimRight(text, "\n")
		if mentions != "" {
			s += sep + mentions
		}
		if r.conf.Keyword != "" && !strings.Contains(s, r.conf.Keyword) {
			s += sep + r.conf.Keyword
		}
		return s
	}
	return &prepared{
		preview: receivers.TruncateBytes(title, maxTitle),
		data:    data,
		body:    func(d *receivers.Data) (string, error) { return r.Text(d) },
		compose: compose,
		fit: receivers.Fit{
			Limit: MaxText,
			Size:  func(s string) int { return len(compose(s)) },
			More:  r.conf.Language.More,
		},
	}, nil
}

// mentions is the line that makes the configured mentions ring: DingTalk rings a mobile
// in atMobiles (a user in atUserIds) only when the text holds @MOBILE (@USERID). Data
// never makes one: IMEscape turns its @ full-width.
func (r *Receiver) mentions() string {
	var at []string
	for _, m := range r.conf.At.Mobiles {
		at = append(at, "@"+m)
	}
	for _, id := range r.conf.At.UserIDs {
		at = append(at, "@"+id)
	}
	return strings.Join(at, " ")
}

// plain makes a title one line: it is a preview and a heading, where a line break would
// end the heading and let the rest become markup.
func plain(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
	return strings.Join(strings.Fields(s), " ")
}

// codes are the answer codes DingTalk documents for its robots. 310000's hint depends on
// its message (see securityHint).
var codes = map[int]receivers.CodeMeaning{
	130101: {Class: receivers.CodeThrottled, Hint: "sent too fast: DingTalk takes 20 messages a minute per robot"},
	300001: {Class: receivers.CodeRejected, Hint: "the access token does not exist: check webhook_url (or webhook_url_file); the robot may have been deleted"},
	400013: {Class: receivers.CodeRejected, Hint: "the group was dissolved: give the receiver a robot of a group that exists"},
	460101: {Class: receivers.CodeRejected, Hint: "the message is over DingTalk's size limit"},
	-1:     {Class: receivers.CodeServer, Hint: "DingTalk is busy"},
}

const securityCode = 310000

// securityHint says which security setting refused a message, from DingTalk's errmsg
// ("sign not match", "invalid timestamp", "keywords not in content", "ip X not in
// whitelist"); every setting when the message does not say.
func securityHint(msg string) string {
	msg = strings.ToLower(msg)
	var hints []string
	if strings.Contains(msg, "sign") || strings.Contains(msg, "timestamp") {
		hints = append(hints, "check the robot's signing secret (secret or secret_file) and this host's clock")
	}
	if strings.Contains(msg, "keyword") {
		hints = append(hints, "check keyword: it must be one of the robot's security keywords")
	}
	if strings.Contains(msg, "whitelist") || strings.Contains(msg, "ip ") {
		hints = append(hints, "check the robot's IP allow-list: this host's public address is not on it")
	}
	if len(hints) == 1 {
		return hints[0]
	}
	return "refused by the robot's security settings: check the signing secret (secret or secret_file) and this host's clock, keyword, and the robot's IP allow-list"
}

// answer is DingTalk's answer body.
type answer struct {
	Errcode *int   `json:"errcode"`
	Errmsg  string `json:"errmsg"`
}

// classify reads DingTalk's answer: success only when it says errcode 0.
func (r *Receiver) classify(raw []byte) error {
	var a answer
	if err := json.Unmarshal(raw, &a); err != nil || a.Errcode == nil {
		return receivers.NoCodeAnswer(Platform, raw)
	}
	table := codes
	if *a.Errcode == securityCode {
		table = maps.Clone(codes)
		table[securityCode] = receivers.CodeMeaning{Class: receivers.CodeSecurity, Hint: securityHint(a.Errmsg)}
	}
	return receivers.CodeAnswer(Platform, *a.Errcode, a.Errmsg, table, r.conf.ThrottleWait.Std())
}
