package router

import (
	"fmt"
	"io"

	"github.com/alertrouter/alertrouter/config"
	"github.com/alertrouter/alertrouter/receivers"
	"github.com/alertrouter/alertrouter/receivers/aliyuncms"
	"github.com/alertrouter/alertrouter/receivers/email"
	logrcv "github.com/alertrouter/alertrouter/receivers/log"
	"github.com/alertrouter/alertrouter/receivers/slack"
	"github.com/alertrouter/alertrouter/receivers/webhook"
)

// runtime is everything built from one config. It is replaced whole on reload, so a
// request or a delivery always sees one consistent config.
type runtime struct {
	cfg       *config.Config
	routes    *Routes
	receivers map[string]receivers.Receiver
	policy    policy
}

func newRuntime(cfg *config.Config, stdout io.Writer) (*runtime, error) {
	rcvs := make(map[string]receivers.Receiver, len(cfg.Receivers))
	for i := range cfg.Receivers {
		r, err := buildReceiver(cfg, &cfg.Receivers[i], stdout)
		if err != nil {
			return nil, fmt.Errorf("receiver %q: %w", cfg.Receivers[i].Name, err)
		}
		rcvs[cfg.Receivers[i].Name] = r
	}
	return &runtime{
		cfg:       cfg,
		routes:    NewRoutes(cfg),
		receivers: rcvs,
		policy: policy{
			repeatInterval: cfg.Global.RepeatInterval.Std(),
			sendResolved:   cfg.Global.SendResolved,
		},
	}, nil
}

// buildReceiver turns one validated receiver config into its integration.
func buildReceiver(cfg *config.Config, c *config.Receiver, stdout io.Writer) (receivers.Receiver, error) {
	switch {
	case c.Log != nil:
		return logrcv.New(c.Log, stdout), nil
	case c.Webhook != nil:
		return webhook.New(c.Webhook, nil), nil
	case c.Slack != nil:
		return slack.New(c.Slack, cfg.Tmpl(), nil), nil
	case c.Email != nil:
		return email.New(c.Email, cfg.Tmpl()), nil
	case c.AliyunCMS != nil:
		return aliyuncms.New(c.AliyunCMS, cfg.Tmpl(), cfg.Location()), nil
	}
	return nil, fmt.Errorf("no integration configured")
}
