// Package feishu posts notifications to a Feishu (飞书) or Lark custom bot, the group robot
// of a chat: POST https://open.feishu.cn/open-apis/bot/v2/hook/TOKEN (Lark:
// open.larksuite.com). A notification is one message card coloured by severity, or a
// plain text message. The bot answers HTTP 200 whether or not it took the message and
// says which in the body ({"code":0,"msg":"success"}): the code is checked, so a refused
// page is retried or dead, never lost as the relays people run today lose it.
package feishu

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/alertrouter/alertrouter/receivers"
)

// Platform names Feishu in errors and answer codes.
const Platform = "feishu"

// Message types.
const (
	// Card is an interactive message card: a coloured header with the title, the text in
	// Feishu's markdown (lark_md).
	Card = "card"
	// Text is a plain text message: the title, then the text.
	Text = "text"
)

// Defaults and limits. Feishu allows 5 messages a second and 100 a minute per bot: the
// pace keeps both (burst + rate <= 5 in a second, burst + 60 * rate <= 100 in a minute).
const (
	DefaultRateLimit    = 1.5
	DefaultBurst        = 3
	DefaultThrottleWait = 10 * time.Second
	// MaxBody is the most a request body may weigh. Feishu says 20 KB; 20,000 bytes is
	// within any reading of that.
	MaxBody = 20000
	// maxTitle bounds the title (a card header is one line): a title of huge group
	// labels must not leave the text no room.
	maxTitle = 1000
)

// Codes is Feishu's table of answer codes; those it does not list are retried a few
// times, then dead, with the code and message kept.
var Codes = map[int]receivers.CodeMeaning{
	9499:  {Class: receivers.CodeThrottled},
	11232: {Class: receivers.CodeThrottled},
	19021: {Class: receivers.CodeSecurity, Hint: "bad signature, or a timestamp more than an hour off: check secret (or secret_file) against the bot's signing secret, and this host's clock"},
	19022: {Class: receivers.CodeSecurity, Hint: "this host's IP address is not allowed: check the bot's IP allow-list"},
	19024: {Class: receivers.CodeSecurity, Hint: "keyword not found: a bot secured by keyword needs it in every message; use signing (secret) instead, or put the keyword in the title template"},
	19001: {Class: receivers.CodeRejected, Hint: "invalid parameter or webhook token: check webhook_url (or webhook_url_file)"},
	19002: {Class: receivers.CodeRejected, Hint: "Feishu refused the message's parameters"},
}

// Config configures a Feishu custom bot receiver.
type Config struct {
	receivers.RobotConfig `yaml:",inline"`
	// The bot's signing secret ("签名校验"), optional: when set, each message is signed.
	receivers.RobotSecret `yaml:",inline"`
	// At is who every message mentions: the only mentions a message makes.
	At At `yaml:"at"`
}

// At lists the mentions a receiver adds to each message.
type At struct {
	// UserIDs are open_ids (ou_...) or user_ids of the chat's members.
	UserIDs []string `yaml:"user_ids"`
	// All mentions everyone in the chat.
	All bool `yaml:"all"`
}

var (
	_ receivers.Config          = (*Config)(nil)
	_ receivers.SecretFiler     = (*Config)(nil)
	_ receivers.TemplateChecker = (*Config)(nil)
)

// userID is what a mention's id may hold: it is written into the <at> tag unquoted in
// cards, so nothing that could end the tag or the attribute.
var userID = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,128}$`)

// Validate checks the config and fills in the defaults; errors never quote a secret.
func (c *Config) Validate() error {
	def := receivers.RobotDefaults{RateLimit: DefaultRateLimit, Burst: DefaultBurst, ThrottleWait: DefaultThrottleWait, MessageTypes: []string{Card, Text}}
	if err := c.RobotConfig.Validate(def); err != nil {
		return err
	}
	if err := c.RobotSecret.Validate(); err != nil {
		return err
	}
	for i, id := range c.At.UserIDs {
		field := fmt.Sprintf("at.user_ids[%d]", i)
		switch {
		case id == "all":
			return &receivers.FieldError{Field: field, Msg: `to mention everyone, set "all: true"`}
		case !userID.MatchString(id):
			return &receivers.FieldError{Field: field, Msg: fmt.Sprintf("%q is not an open_id (ou_...) or user_id", id)}
		}
	}
	return nil
}

// SecretFiles lists the configured secret files by field.
func (c *Config) SecretFiles() map[string]string {
	return map[string]string{"webhook_url_file": c.WebhookURLFile, "secret_file": c.SecretFile}
}

// signed reports whether messages are signed, without reading the secret.
func (c *Config) signed() bool { return c.Secret != "" || c.SecretFile != "" }

// Receiver posts to a Feishu custom bot.
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

// Send posts the notification as one message, within Feishu's size limit.
func (r *Receiver) Send(ctx context.Context, m *receivers.Message) (err error) {
	secrets := r.conf.Secrets()
	defer func() { err = receivers.Scrub(err, secrets...) }()
	hook, err := r.conf.URL()
	if err != nil {
		return err
	}
	secrets = append(secrets, hook)
	secret, err := r.conf.Read()
	if err != nil {
		return fmt.Errorf("secret_file: %w", err)
	}
	secrets = append(secrets, secret)
	client, err := r.Client()
	if err != nil {
		return err
	}
	var timestamp, sign string
	if secret != "" {
		timestamp, sign = Sign(secret, time.Now())
	}
	body, err := r.body(m, timestamp, sign)
	if err != nil {
		return receivers.Permanent(err)
	}
	answer, err := receivers.PostForAnswer(ctx, client, hook, body, nil)
	if err != nil {
		return err
	}
	return classify(answer, r.conf.ThrottleWait.Std())
}

// Fits reports whether m renders as one message within MaxBody with all its alerts: the
// measure Send cuts by.
func (r *Receiver) Fits(m *receivers.Message) (bool, error) {
	var timestamp, sign string
	if r.conf.signed() {
		// The signature's length is fixed (base64 of 32 bytes), and so is the timestamp's
		// for the next few centuries: the measure is exact without the secret.
		timestamp, sign = strconv.FormatInt(time.Now().Unix(), 10), strings.Repeat("=", signLen)
	}
	_, data, fit, err := r.prepare(m, timestamp, sign)
	if err != nil {
		return false, err
	}
	return fit.Fits(data, r.renderText)
}

// signLen is the length of a signature: base64 of a SHA-256 HMAC.
var signLen = len(receivers.HMACSHA256("", ""))

// Sign is Feishu's signature at now: the timestamp in seconds, and base64(HMAC-SHA256)
// keyed by timestamp + "\n" + secret over an empty message (the other way round from
// DingTalk, which keys by the secret).
func Sign(secret string, now time.Time) (timestamp, sign string) {
	timestamp = strconv.FormatInt(now.Unix(), 10)
	return timestamp, receivers.HMACSHA256(timestamp+"\n"+secret, "")
}

// body is the request body of m, its text cut to fit MaxBody.
func (r *Receiver) body(m *receivers.Message, timestamp, sign string) ([]byte, error) {
	f, data, fit, err := r.prepare(m, timestamp, sign)
	if err != nil {
		return nil, err
	}
	text, err := fit.Render(data, r.renderText)
	if err != nil {
		return nil, fmt.Errorf("render text: %w", err)
	}
	body, err := receivers.MarshalJSON(f.request(text))
	if err != nil {
		return nil, err
	}
	if len(body) > MaxBody {
		// Only the title and mentions are left, and they alone are too long.
		return nil, fmt.Errorf("the message is %d bytes without its alerts, over Feishu's %d: shorten the title template or at.user_ids", len(body), MaxBody)
	}
	return body, nil
}

// Preview is the body Send would post, without the signature it adds.
func (r *Receiver) Preview(m *receivers.Message) (string, error) {
	b, err := r.body(m, "", "")
	return string(b), err
}

var (
	_ receivers.Previewer    = (*Receiver)(nil)
	_ receivers.ActionLinked = (*Receiver)(nil)
)

func (r *Receiver) renderText(d *receivers.Data) (string, error) {
	return r.Text(d)
}

// prepare renders what a message of m holds besides its text, and the Fit that measures
// the text by the whole request it makes: Send and Fits share it.
func (r *Receiver) prepare(m *receivers.Message, timestamp, sign string) (*frame, *receivers.Data, receivers.Fit, error) {
	data := r.Data(m)
	title, err := r.Title(data)
	if err != nil {
		return nil, nil, receivers.Fit{}, fmt.Errorf("render title: %w", err)
	}
	f := &frame{
		msgType:   r.conf.MessageType,
		title:     receivers.TruncateBytes(strings.TrimSpace(title), maxTitle),
		color:     Color(m.Data),
		timestamp: timestamp,
		sign:      sign,
		mentions:  r.conf.At.UserIDs,
		all:       r.conf.At.All,
	}
	empty, err := receivers.MarshalJSON(f.request(""))
	if err != nil {
		return nil, nil, receivers.Fit{}, err
	}
	base := len(empty)
	size := func(text string) int { return base + escapedLen(text) }
	return f, data, receivers.Fit{Limit: MaxBody, Size: size, More: r.conf.Language.More}, nil
}

// escapedLen is how many bytes s takes inside a JSON string: the body with an empty text
// plus this is the body with s, exactly.
func escapedLen(s string) int {
	b, err := receivers.MarshalJSON(s)
	if err != nil { // a string always encodes; count the worst case if it did not
		return 6 * len(s)
	}
	return len(b) - 2
}

// Color is the card header's colour: green when resolved, else by the most severe firing
// alert, as Slack's bar is.
func Color(d *receivers.Data) string {
	return [...]string{receivers.Resolved: "green", receivers.Info: "blue", receivers.Warning: "orange", receivers.Critical: "red"}[receivers.UrgencyOf(d)]
}

// frame is a message but its text.
type frame struct {
	msgType, title, color string
	timestamp, sign       string
	mentions              []string
	all                   bool
}

// request is the request body with text.
func (f *frame) request(text string) *request {
	req := &request{Timestamp: f.timestamp, Sign: f.sign}
	if f.msgType == Text {
		s := text
		if f.title != "" {
			s = f.title + "\n" + s
		}
		if at := f.mentionLine(`<at user_id="%s"></at>`); at != "" {
			s += "\n" + at
		}
		req.MsgType, req.Content = "text", &textContent{Text: s}
		return req
	}
	c := &card{Config: cardConfig{WideScreenMode: true}, Header: cardHeader{Title: cardText{Tag: "plain_text", Content: f.title}, Template: f.color}}
	c.Elements = append(c.Elements, element{Tag: "div", Text: cardText{Tag: "lark_md", Content: text}})
	if at := f.mentionLine(`<at id=%s></at>`); at != "" {
		c.Elements = append(c.Elements, element{Tag: "div", Text: cardText{Tag: "lark_md", Content: at}})
	}
	req.MsgType, req.Card = "interactive", c
	return req
}

// mentionLine is the configured mentions, each in the tag format, everyone last.
func (f *frame) mentionLine(format string) string {
	var tags []string
	for _, id := range f.mentions {
		tags = append(tags, fmt.Sprintf(format, id))
	}
	if f.all {
		tags = append(tags, fmt.Sprintf(format, "all"))
	}
	return strings.Join(tags, " ")
}

// The request bodies Feishu takes.
type (
	request struct {
		Timestamp string       `json:"timestamp,omitempty"`
		Sign      string       `json:"sign,omitempty"`
		MsgType   string       `json:"msg_type"`
		Content   *textContent `json:"content,omitempty"`
		Card      *card        `json:"card,omitempty"`
	}
	textContent struct {
		Text string `json:"text"`
	}
	card struct {
		Config   cardConfig `json:"config"`
		Header   cardHeader `json:"header"`
		Elements []element  `json:"elements"`
	}
	cardConfig struct {
		WideScreenMode bool `json:"wide_screen_mode"`
	}
	cardHeader struct {
		Title    cardText `json:"title"`
		Template string   `json:"template"`
	}
	cardText struct {
		Tag     string `json:"tag"`
		Content string `json:"content"`
	}
	element struct {
		Tag  string   `json:"tag"`
		Text cardText `json:"text"`
	}
)

// classify reads Feishu's answer: {"code":0,"msg":"success"}, which may also carry
// "StatusCode" and "StatusMessage" (older answers carry only those). Success is code 0
// and nothing else; a body that is not such an answer (a proxy's page) is retried.
func classify(answer []byte, throttleWait time.Duration) error {
	var a struct {
		Code          *int   `json:"code"`
		Msg           string `json:"msg"`
		StatusCode    *int   `json:"StatusCode"`
		StatusMessage string `json:"StatusMessage"`
	}
	if err := json.Unmarshal(answer, &a); err != nil || (a.Code == nil && a.StatusCode == nil) {
		return receivers.NoCodeAnswer(Platform, answer)
	}
	code, msg := 0, ""
	switch {
	case a.Code != nil && *a.Code != 0:
		code, msg = *a.Code, a.Msg
	case a.StatusCode != nil && *a.StatusCode != 0:
		code, msg = *a.StatusCode, a.StatusMessage
	}
	return receivers.CodeAnswer(Platform, code, msg, Codes, throttleWait)
}
