package router

import (
	"context"
	"reflect"
	"sync"
	"time"

	"github.com/alertrouter/alertrouter/config"
	"github.com/alertrouter/alertrouter/receivers"
	"github.com/alertrouter/alertrouter/router/auth"
)

// Buttons in messages (Slack's, with an app token): each such receiver keeps a connection
// over which the presses come (receivers.ButtonListener), on every replica (the platform
// hands each press to one of them). A button carries an action link's token, so a press
// is checked and acted on as a link is; the receiver shows the outcome in the message.

// maxListenBackoff bounds the wait before connecting again after a refusal.
const maxListenBackoff = 5 * time.Minute

// listenForButtons keeps one listener per receiver with buttons, following reloads, until
// ctx is done.
func (s *Server) listenForButtons(ctx context.Context) {
	type listener struct {
		conf   receivers.ButtonListener
		cancel context.CancelFunc
	}
	running := map[string]listener{}
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		want := map[string]receivers.ButtonListener{}
		for _, rc := range s.runtime.Load().cfg.Receivers {
			if bl, ok := rc.Config.(receivers.ButtonListener); ok && bl.HasButtons() {
				want[rc.Name] = bl
			}
		}
		for name, l := range running {
			if w, ok := want[name]; !ok || !reflect.DeepEqual(w, l.conf) {
				l.cancel()
				delete(running, name)
			}
		}
		for name, bl := range want {
			if _, ok := running[name]; !ok {
				lctx, cancel := context.WithCancel(ctx)
				running[name] = listener{conf: bl, cancel: cancel}
				wg.Go(func() { s.listen(lctx, name, bl) })
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-s.reloaded:
		}
	}
}

// listen takes the presses of one receiver's buttons until ctx is done, connecting again,
// with a growing wait, when the platform refuses.
func (s *Server) listen(ctx context.Context, name string, bl receivers.ButtonListener) {
	logger := s.logger.With("component", "buttons", "receiver", name)
	wait := time.Second
	for {
		err := bl.Listen(ctx, logger, s.actOnPress)
		if ctx.Err() != nil {
			return
		}
		logger.Error("Cannot take the presses of the receiver's buttons; trying again", "err", err, "retry_in", wait)
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = min(2*wait, maxListenBackoff)
	}
}

// actOnPress does what a pressed button says, as whoever pressed it. Being able to press
// a button in the receiver's channel is the authority, as the link is without a login:
// the platform has authenticated the user, and the connection.
func (s *Server) actOnPress(ctx context.Context, p receivers.Press) (string, error) {
	t, _, err := s.checkLink(ctx, p.Token)
	if err != nil {
		return "", err
	}
	id := auth.Identity{Name: p.User, Role: config.Operator, Via: "slack"}
	done, _, _, err := s.actOn(ctx, "slack", id, t, "slack")
	return done, err
}
