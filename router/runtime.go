package router

import (
	"github.com/alertrouter/alertrouter/config"
)

// runtime is what intake builds from one config. It is replaced whole on reload, so that
// a request always sees one consistent config.
type runtime struct {
	cfg    *config.Config
	routes *Routes
	policy policy
}

func newRuntime(cfg *config.Config) *runtime {
	return &runtime{
		cfg:    cfg,
		routes: NewRoutes(cfg),
		policy: policy{
			repeatInterval: cfg.Global.RepeatInterval.Std(),
			sendResolved:   cfg.Global.SendResolved,
		},
	}
}
