package router

import (
	"io"

	"github.com/alertrouter/alertrouter/config"
	"github.com/alertrouter/alertrouter/receivers"
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
		rcvs[cfg.Receivers[i].Name] = cfg.Receivers[i].Build(cfg, stdout)
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
