package receivers

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/prometheus/alertmanager/template"
)

// A limit on a whole JSON request: Size counts the escapes a text costs inside it, and
// the Chinese note ends a rendering that left alerts out.
func TestFitMeasuresWithSizeAndSaysHowManyInChinese(t *testing.T) {
	tm, err := NewTemplates(nil, time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	jsonLen := func(s string) int {
		b, _ := MarshalJSON(s)
		return len(b) + 100 // the rest of the request
	}
	f := Fit{Limit: 2000, Size: jsonLen, More: Chinese.More}
	d := sampleData(200, "firing")
	render := func(d *Data) (string, error) { return tm.Text(Chinese.Template("markdown"), d) }
	got, err := f.Render(d, render)
	if err != nil {
		t.Fatal(err)
	}
	if jsonLen(got) > 2000 || !utf8.ValidString(got) {
		t.Fatalf("measures %d (limit 2000), valid UTF-8 %v", jsonLen(got), utf8.ValidString(got))
	}
	shown := strings.Count(got, "【告警】")
	if want := fmt.Sprintf("\n…另有 %d 条告警", 200-shown); !strings.HasSuffix(got, want) || shown < 2 {
		t.Fatalf("shows %d alerts and ends %q, want the note %q", shown, got[max(len(got)-40, 0):], want)
	}
	if fits, _ := f.Fits(d, render); fits {
		t.Error("Fits says 200 alerts fit in 2000 bytes")
	}
	if fits, _ := f.Fits(sampleData(2, "firing"), render); !fits {
		t.Error("Fits says 2 alerts do not fit")
	}
}

// One alert too long is cut, never inside a character, and the cut still fits once
// escaped: a text of quotes doubles in JSON.
func TestFitCutsOneAlertWithinTheEscapedLimit(t *testing.T) {
	jsonLen := func(s string) int { b, _ := MarshalJSON(s); return len(b) }
	for _, text := range []string{strings.Repeat("温度过高", 3000), strings.Repeat(`"\`, 3000)} {
		d := sampleData(1, "firing")
		got, err := Fit{Limit: 1000, Size: jsonLen}.Render(d, func(*Data) (string, error) { return text, nil })
		if err != nil || jsonLen(got) > 1000 || jsonLen(got) < 900 || !utf8.ValidString(got) || !strings.HasSuffix(got, "…") {
			t.Errorf("cut to %d escaped bytes (want 900-1000, ending …), valid %v, err %v", jsonLen(got), utf8.ValidString(got), err)
		}
	}
}

func TestLanguageDefaultsAndNotes(t *testing.T) {
	var l Language
	if err := l.Validate(); err != nil || l != Chinese {
		t.Fatalf("empty language = %q, %v; want zh", l, err)
	}
	bad := Language("fr")
	var fe *FieldError
	if err := bad.Validate(); !errors.As(err, &fe) || fe.Field != "language" {
		t.Fatalf("fr: %v", err)
	}
	if got := English.More(3); got != "\n... and 3 more alerts" {
		t.Errorf("English note = %q", got)
	}
	if got := English.Template("title"); got != `{{ template "im.en.title" . }}` {
		t.Errorf("template = %q", got)
	}
}

func TestCodeAnswerClassifies(t *testing.T) {
	table := map[int]CodeMeaning{
		1: {Class: CodeThrottled},
		2: {Class: CodeSecurity, Hint: "check the secret"},
		3: {Class: CodeRejected},
		4: {Class: CodeServer},
	}
	if err := CodeAnswer("robot", 0, "ok", table, time.Minute); err != nil {
		t.Fatalf("code 0: %v", err)
	}
	var throttled *ThrottledError
	if err := CodeAnswer("robot", 1, "too fast", table, time.Minute); !errors.As(err, &throttled) || throttled.RetryAfter != time.Minute || IsPermanent(err) {
		t.Errorf("throttled: %v", err)
	}
	err := CodeAnswer("robot", 2, "sign not match", table, time.Minute)
	if !IsPermanent(err) || err.Error() != "robot answered code 2 (sign not match): check the secret" {
		t.Errorf("security: %v", err)
	}
	if err := CodeAnswer("robot", 3, "", table, 0); !IsPermanent(err) {
		t.Errorf("rejected: %v", err)
	}
	if err := CodeAnswer("robot", 4, "busy", table, 0); err == nil || IsPermanent(err) || errors.As(err, &throttled) {
		t.Errorf("server: %v", err)
	}
	err = CodeAnswer("robot", 99, "what", table, 0)
	if n, ok := RetryLimit(err); !ok || n != UnknownCodeAttempts || IsPermanent(err) {
		t.Errorf("unknown: %v (limit %d, %v)", err, n, ok)
	}
	var ae *AnswerError
	if !errors.As(err, &ae) || ae.Code != 99 || ae.Msg != "what" {
		t.Errorf("the code and message are not kept: %#v", ae)
	}
}

// Data cannot mention or mark up; URLs stay links.
func TestIMEscape(t *testing.T) {
	for _, v := range []string{"@13800000000", "<@zhangsan>", `<at user_id="all"></at>`, "[x](http://evil)", "# heading", "&#60;at id=all&#62;"} {
		got := IMEscape(v)
		if strings.ContainsAny(got, "<>[]@#&") {
			t.Errorf("IMEscape(%q) = %q keeps markup", v, got)
		}
	}
	if got := IMEscapeURL("http://p:9090/graph?g0.expr=up[5m]) [x](y)"); strings.ContainsAny(got, "[]() ") {
		t.Errorf("IMEscapeURL = %q", got)
	}
}

func TestMergeFoldsInOrderWithSharedGroupLabels(t *testing.T) {
	msg := func(id int64, hostgroup, status string) *Message {
		d := sampleData(1, status)
		d.GroupLabels = template.KV{"hostgroup": hostgroup, "env": "prod"}
		return &Message{ID: id, Receiver: "r", Route: "routes[0]", Hostgroup: hostgroup, Data: d}
	}
	m := Merge([]*Message{msg(1, "a", "resolved"), msg(2, "b", "firing"), msg(3, "a", "resolved")})
	if m.ID != 1 || m.Route != "routes[0]" || m.Hostgroup != "" || m.Data.Status != "firing" || len(m.Data.Alerts) != 3 {
		t.Fatalf("merged = %+v, data %+v", m, m.Data)
	}
	if m.Data.Alerts[0].Status != "resolved" || m.Data.Alerts[1].Status != "firing" {
		t.Error("alerts are not in order")
	}
	if len(m.Data.GroupLabels) != 1 || m.Data.GroupLabels["env"] != "prod" {
		t.Errorf("group labels = %v, want only the shared env", m.Data.GroupLabels)
	}
	if all := Merge([]*Message{msg(1, "a", "resolved"), msg(2, "a", "resolved")}); all.Data.Status != "resolved" || all.Hostgroup != "a" {
		t.Errorf("all resolved = %+v", all)
	}
}
