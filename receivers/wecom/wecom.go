// Package wecom posts notifications to a WeCom (企业微信) group robot: one markdown or text
// message per notification, within WeCom's byte limits, mentioning only whom the config
// names, and reading the robot's answer code, which says whether it took the message:
// WeCom answers HTTP 200 either way.
package wecom

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/alertrouter/alertrouter/receivers"
)

// Platform names WeCom in errors and answer codes.
const Platform = "wecom"

// The message types WeCom robots take that alertrouter sends.
const (
	Markdown = "markdown"
	Text     = receivers.TextMessage
)

// WeCom's limits: the content field of one message, in UTF-8 bytes, as sent.
const (
	MaxMarkdown = 4096
	MaxText     = 2048
)

// All is the mention of everyone, in mentioned_user_ids (and mentioned_mobiles).
const All = "@all"

// Defaults follow WeCom's limit of 20 messages a minute per robot, with room for other
// senders to the same robot; after a 45009 the robot stays refused for a while, and WeCom
// does not say how long.
var defaults = receivers.RobotDefaults{RateLimit: 0.25, Burst: 5, ThrottleWait: 60 * time.Second, MessageTypes: []string{Markdown, Text}}

// A title of the whole limit would leave no room for the alerts: a title longer than
// this share of the limit (a huge group label) is cut.
const titleShare = 8

// The most a markdown mention line may take of the content, so that the alerts keep room.
const maxMentionShare = 4

// Config configures a WeCom group robot. The key in the webhook URL is the robot's only
// credential (WeCom robots have no signing secret), so the URL is a secret.
type Config struct {
	receivers.RobotConfig `yaml:",inline"`
	// MentionedMobiles ring members by mobile: text messages only (WeCom markdown mentions
	// by user id alone).
	MentionedMobiles []string `yaml:"mentioned_mobiles"`
	// MentionedUserIDs ring members by WeCom user id; "@all" rings everyone (text only).
	MentionedUserIDs []string `yaml:"mentioned_user_ids"`
}

var (
	_ receivers.Config          = (*Config)(nil)
	_ receivers.SecretFiler     = (*Config)(nil)
	_ receivers.TemplateChecker = (*Config)(nil)
)

// Validate checks the config and fills in defaults; errors never quote the webhook URL.
func (c *Config) Validate() error {
	if err := c.RobotConfig.Validate(defaults); err != nil {
		return err
	}
	if c.WebhookURL != "" {
		if u, _ := url.Parse(string(c.WebhookURL)); u == nil || u.Query().Get("key") == "" {
			return &receivers.FieldError{Field: "webhook_url", Msg: "has no key: want https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=..."}
		}
	}
	for _, m := range c.MentionedMobiles {
		if !validMobile(m) {
			return &receivers.FieldError{Field: "mentioned_mobiles", Msg: fmt.Sprintf("%q is not a mobile number (digits, with an optional leading +) or @all", m)}
		}
	}
	for _, id := range c.MentionedUserIDs {
		if !validUserID(id) {
			return &receivers.FieldError{Field: "mentioned_user_ids", Msg: fmt.Sprintf("%q is not a WeCom user id (1 to 64 letters, digits and _-@., starting with a letter or digit) or @all", id)}
		}
	}
	if c.MessageType == Markdown {
		// WeCom drops these silently: the page would go out and ring nobody.
		if len(c.MentionedMobiles) > 0 {
			return &receivers.FieldError{Field: "mentioned_mobiles", Msg: "WeCom markdown messages cannot mention by mobile: use message_type: text, or mentioned_user_ids"}
		}
		for _, id := range c.MentionedUserIDs {
			if id == All {
				return &receivers.FieldError{Field: "mentioned_user_ids", Msg: "WeCom markdown messages cannot mention @all: use message_type: text, or name the user ids"}
			}
		}
		if len(mentionLine(c.MentionedUserIDs)) > MaxMarkdown/maxMentionShare {
			return &receivers.FieldError{Field: "mentioned_user_ids", Msg: fmt.Sprintf("too many: their mentions would take more than %d bytes of a %d-byte message", MaxMarkdown/maxMentionShare, MaxMarkdown)}
		}
	}
	return nil
}

// validMobile accepts a phone number as WeCom members' profiles hold them: digits, with
// an optional leading + and dashes; or @all, which mentioned_mobile_list also takes.
func validMobile(s string) bool {
	if s == All {
		return true
	}
	digits := strings.TrimPrefix(s, "+")
	if digits == "" || len(digits) > 32 || digits[0] == '-' {
		return false
	}
	for _, r := range digits {
		if (r < '0' || r > '9') && r != '-' {
			return false
		}
	}
	return true
}

// validUserID follows WeCom's rule for a member's UserID; it also keeps `<@id>` from
// closing early or carrying markup.
func validUserID(s string) bool {
	if s == All {
		return true
	}
	if s == "" || len(s) > 64 || !isAlnum(rune(s[0])) {
		return false
	}
	for _, r := range s {
		if !isAlnum(r) && !strings.ContainsRune("_-@.", r) {
			return false
		}
	}
	return true
}

func isAlnum(r rune) bool {
	return r < utf8.RuneSelf && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9')
}

// SecretFiles lists the configured secret files by field.
func (c *Config) SecretFiles() map[string]string {
	return map[string]string{"webhook_url_file": c.WebhookURLFile}
}

// Receiver posts to one WeCom group robot.
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

// Codes is WeCom's table of answer codes (errcode); the others are retried a few times.
var Codes = map[int]receivers.CodeMeaning{
	45009: {Class: receivers.CodeThrottled},
	93000: {Class: receivers.CodeRejected, Hint: "check webhook_url (or webhook_url_file): the key is wrong or the robot was removed from the group"},
	45002: {Class: receivers.CodeRejected, Hint: "the message is longer than WeCom takes"},
	40058: {Class: receivers.CodeRejected, Hint: "WeCom found the message empty or invalid"},
	44004: {Class: receivers.CodeRejected, Hint: "WeCom found the message empty or invalid"},
	40008: {Class: receivers.CodeRejected, Hint: "WeCom does not take this message type: check message_type"},
	60020: {Class: receivers.CodeSecurity, Hint: "WeCom refused this host's IP: add alertrouter's egress IP (or its proxy_url's) to the IP allow-list of the robot's app or organisation"},
	-1:    {Class: receivers.CodeServer},
}

// Body is what WeCom takes: msgtype and the part it names.
type Body struct {
	MsgType  string        `json:"msgtype"`
	Markdown *MarkdownPart `json:"markdown,omitempty"`
	Text     *TextPart     `json:"text,omitempty"`
}

// MarkdownPart is a markdown message; mentions are `<@userid>` in its content.
type MarkdownPart struct {
	Content string `json:"content"`
}

// TextPart is a plain text message; its mentions are lists beside the content.
type TextPart struct {
	Content             string   `json:"content"`
	MentionedList       []string `json:"mentioned_list,omitempty"`
	MentionedMobileList []string `json:"mentioned_mobile_list,omitempty"`
}

// Send posts the notification as one message and reads the robot's answer.
func (r *Receiver) Send(ctx context.Context, m *receivers.Message) (err error) {
	content, err := r.content(m)
	if err != nil {
		return receivers.Permanent(err)
	}
	body, err := receivers.MarshalJSON(r.body(content))
	if err != nil {
		return receivers.Permanent(fmt.Errorf("encode the message: %w", err))
	}
	secrets := r.conf.Secrets()
	defer func() { err = receivers.Scrub(err, secrets...) }()
	hook, err := r.conf.URL()
	if err != nil {
		return err
	}
	secrets = append(secrets, hook)
	client, err := r.Client()
	if err != nil {
		return err
	}
	answer, err := receivers.PostForAnswer(ctx, client, hook, body, nil)
	if err != nil {
		return err
	}
	return Answer(answer, r.conf.ThrottleWait.Std())
}

func (r *Receiver) body(content string) *Body {
	if r.conf.MessageType == Text {
		return &Body{MsgType: Text, Text: &TextPart{Content: content, MentionedList: r.conf.MentionedUserIDs, MentionedMobileList: r.conf.MentionedMobiles}}
	}
	return &Body{MsgType: Markdown, Markdown: &MarkdownPart{Content: content}}
}

// Answer classifies WeCom's answer, `{"errcode":0,"errmsg":"ok"}`: success only when it
// says errcode 0. An answer without one (a captive portal, a relay's page) is retried.
func Answer(body []byte, throttleWait time.Duration) error {
	var a struct {
		ErrCode *int   `json:"errcode"`
		ErrMsg  string `json:"errmsg"`
	}
	if err := json.Unmarshal(body, &a); err != nil || a.ErrCode == nil {
		return receivers.NoCodeAnswer(Platform, body)
	}
	return receivers.CodeAnswer(Platform, *a.ErrCode, a.ErrMsg, Codes, throttleWait)
}

// Fits reports whether m renders in one message with all its alerts, measured as Send
// measures it.
func (r *Receiver) Fits(m *receivers.Message) (bool, error) {
	l, err := r.layout(m)
	if err != nil {
		return false, receivers.Permanent(err)
	}
	ok, err := l.fit.Fits(l.data, l.render)
	if err != nil {
		return false, receivers.Permanent(fmt.Errorf("render text: %w", err))
	}
	return ok, nil
}

// content is the content field of m's message, within WeCom's limit.
func (r *Receiver) content(m *receivers.Message) (string, error) {
	l, err := r.layout(m)
	if err != nil {
		return "", err
	}
	text, err := l.fit.Render(l.data, l.render)
	if err != nil {
		return "", fmt.Errorf("render text: %w", err)
	}
	// JSON would turn a stray invalid byte into a 3-byte U+FFFD, past the measured size.
	return strings.ToValidUTF8(l.head+text+l.tail, ""), nil
}

// Preview is the content Send would post.
func (r *Receiver) Preview(m *receivers.Message) (string, error) {
	return r.content(m)
}

var (
	_ receivers.Previewer    = (*Receiver)(nil)
	_ receivers.ActionLinked = (*Receiver)(nil)
)

// layout is how a message's content is made: a head (the title), the text of the
// alerts, which Fit shortens, and a tail (our mentions), all measured against the limit
// so that the mentions survive a long text.
type layout struct {
	data       *receivers.Data
	head, tail string
	fit        receivers.Fit
	render     func(*receivers.Data) (string, error)
}

func (r *Receiver) layout(m *receivers.Message) (*layout, error) {
	// Values are data: they mention nobody and make no markup.
	data := r.Data(m)
	title, err := r.Title(data)
	if err != nil {
		return nil, fmt.Errorf("render title: %w", err)
	}
	l := &layout{data: data, render: func(d *receivers.Data) (string, error) { return r.Text(d) }}
	limit := MaxText
	if r.conf.MessageType == Markdown {
		limit = MaxMarkdown
		l.head = "### " + receivers.TruncateBytes(title, limit/titleShare) + "\n\n"
		l.tail = mentionLine(r.conf.MentionedUserIDs)
	} else {
		l.head = receivers.TruncateBytes(title, limit/titleShare) + "\n"
	}
	extra := len(l.head) + len(l.tail)
	l.fit = receivers.Fit{Limit: limit, Size: func(s string) int { return extra + len(s) }, More: r.conf.Language.More}
	return l, nil
}

// mentionLine ends a markdown message with the configured mentions: `<@userid>` is the
// only mention WeCom markdown has.
func mentionLine(ids []string) string {
	if len(ids) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString("\n\n")
	for i, id := range ids {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString("<@" + id + ">")
	}
	return b.String()
}
