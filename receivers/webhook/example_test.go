package webhook_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/alertrouter/alertrouter/receivers"
	"github.com/alertrouter/alertrouter/receivers/receivertest"
	"github.com/alertrouter/alertrouter/receivers/webhook"
)

// post sends a sample notification through conf and prints what the destination got.
func post(conf *webhook.Config) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		fmt.Println(strings.TrimSpace(r.Header.Get("Content-Type") + " " + r.Header.Get("X-Hostgroup")))
		fmt.Println(string(b))
	}))
	defer srv.Close()
	conf.URL = receivers.Secret(srv.URL)
	tmpl, err := receivers.NewTemplates(nil, time.UTC)
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := conf.Validate(); err != nil {
		fmt.Println(err)
		return
	}
	if err := conf.CheckTemplates(tmpl); err != nil {
		fmt.Println(err)
		return
	}
	m := receivertest.Message(2, "firing", "critical")
	m.Data.CommonAnnotations["summary"] = `GPU "0" is at 87°C`
	if err := webhook.New(conf, tmpl).Send(context.Background(), m); err != nil {
		fmt.Println(err)
	}
}

// A Telegram bot's sendMessage (the bot token is in the URL, so url is the secret). The
// body is JSON written by hand: toJson makes each value a quoted JSON string, whatever
// quotes or newlines it holds. text/template's js does not: it writes an apostrophe as \',
// which JSON does not allow.
func Example_telegram() {
	post(&webhook.Config{
		Body:    `{"chat_id": "-1001234567890", "text": {{ printf "[%s] %s: %s" (.Status | toUpper) .CommonLabels.alertname .CommonAnnotations.summary | toJson }}}`,
		Headers: map[string]receivers.Secret{"X-Hostgroup": "{{ .GroupLabels.hostgroup }}"},
	})
	// Output:
	// application/json gpu-render-a
	// {"chat_id": "-1001234567890", "text": "[FIRING] GPUTemperatureHigh: GPU \"0\" is at 87°C"}
}

// A Microsoft Teams Workflows webhook, which takes an Adaptive Card: one line per alert.
func Example_microsoftTeams() {
	post(&webhook.Config{
		Body: `{"type": "message", "attachments": [{"contentType": "application/vnd.microsoft.card.adaptive", "content": {
  "type": "AdaptiveCard", "version": "1.4", "body": [
    {"type": "TextBlock", "weight": "Bolder", "text": {{ printf "%s: %s" .CommonLabels.alertname .CommonAnnotations.summary | toJson }}}
    {{- range .Alerts }},
    {"type": "TextBlock", "text": {{ .Labels.instance | toJson }}}
    {{- end }}]}}]}`,
		Headers: map[string]receivers.Secret{"X-Hostgroup": "{{ .GroupLabels.hostgroup }}"},
	})
	// Output:
	// application/json gpu-render-a
	// {"type": "message", "attachments": [{"contentType": "application/vnd.microsoft.card.adaptive", "content": {
	//   "type": "AdaptiveCard", "version": "1.4", "body": [
	//     {"type": "TextBlock", "weight": "Bolder", "text": "GPUTemperatureHigh: GPU \"0\" is at 87°C"},
	//     {"type": "TextBlock", "text": "gpu-node-01:9400"},
	//     {"type": "TextBlock", "text": "gpu-node-02:9400"}]}}]}
}

// A form body, as a ticket system or Telegram also take: urlquery escapes each value.
func Example_form() {
	post(&webhook.Config{
		Body:        `chat_id=-1001234567890&text={{ .CommonAnnotations.summary | urlquery }}`,
		ContentType: "application/x-www-form-urlencoded",
	})
	// Output:
	// application/x-www-form-urlencoded
	// chat_id=-1001234567890&text=GPU+%220%22+is+at+87%C2%B0C
}
