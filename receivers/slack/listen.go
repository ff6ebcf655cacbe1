package slack

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"

	"github.com/alertrouter/alertrouter/receivers"
)

// Presses of the buttons come over Socket Mode: alertrouter opens a WebSocket to Slack
// with the app token (apps.connections.open), Slack sends each press on it as an
// envelope, which must be acknowledged within 3 seconds. The press is then acted on, and
// the message updated (chat.update) to say what was done, in the channel where it was
// pressed; a refusal goes to whoever pressed, alone (chat.postEphemeral).

var _ receivers.ButtonListener = (*Config)(nil)

// Listen takes the presses of this receiver's buttons until ctx is done, or Slack refuses
// the tokens.
func (c *Config) Listen(ctx context.Context, logger *slog.Logger, act receivers.Act) error {
	bot, app, err := c.Tokens()
	if err != nil {
		return err
	}
	secrets := append(c.Secrets(), bot, app)
	client, err := c.HTTPClientConfig.NewClient(c.Timeout.Or(DefaultTimeout))
	if err != nil {
		return err
	}
	transport := client.Transport.(*http.Transport) // the WebSocket goes the same way
	api := slack.New(bot, slack.OptionAppLevelToken(app), slack.OptionAPIURL(c.APIURL), slack.OptionHTTPClient(client))
	sm := socketmode.New(api, socketmode.OptionDialer(&websocket.Dialer{
		Proxy: transport.Proxy, TLSClientConfig: transport.TLSClientConfig,
		HandshakeTimeout: 45 * time.Second,
		// Slack drops messages split into frames; socketmode's own dialer sizes it so.
		WriteBufferSize: 32 << 10,
	}))

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ran := make(chan error, 1)
	go func() { ran <- sm.RunContext(ctx) }()
	var presses sync.WaitGroup
	defer presses.Wait()
	for {
		var evt socketmode.Event
		select {
		case err := <-ran:
			if ctx.Err() != nil {
				return nil
			}
			return receivers.Scrub(err, secrets...)
		case evt = <-sm.Events:
		}
		switch evt.Type {
		case socketmode.EventTypeConnected:
			logger.Info("Connected to Slack for the buttons' presses (Socket Mode)")
		case socketmode.EventTypeConnectionError:
			if e, ok := evt.Data.(*slack.ConnectionErrorEvent); ok {
				logger.Warn("Cannot connect to Slack for the buttons' presses; retrying", "err",
					receivers.RedactURL(receivers.Scrub(e.ErrorObj, secrets...)), "retry_in", e.Backoff)
			}
		case socketmode.EventTypeInteractive, socketmode.EventTypeEventsAPI, socketmode.EventTypeSlashCommand:
			// Acknowledged first: Slack shows the user an error after 3 seconds.
			if evt.Request != nil {
				if err := sm.AckCtx(ctx, evt.Request.EnvelopeID, nil); err != nil {
					logger.Warn("Cannot acknowledge a Slack envelope", "err", err)
				}
			}
			if cb, ok := evt.Data.(slack.InteractionCallback); ok && cb.Type == slack.InteractionTypeBlockActions {
				presses.Go(func() { c.press(ctx, api, logger, cb, act) })
			}
		}
	}
}

// press acts on each of our buttons in a press, and says what came of it.
func (c *Config) press(ctx context.Context, api *slack.Client, logger *slog.Logger, cb slack.InteractionCallback, act receivers.Act) {
	channel := cb.Container.ChannelID
	if channel == "" {
		channel = cb.Channel.ID
	}
	user := cb.User.Name
	if user == "" {
		user = cb.User.ID
	}
	atts := cb.Message.Attachments
	for _, a := range cb.ActionCallback.BlockActions {
		if !IsOurs(a.ActionID) {
			continue
		}
		done, err := act(ctx, receivers.Press{Token: a.Value, User: user})
		if err != nil {
			if _, err := api.PostEphemeralContext(ctx, channel, cb.User.ID, slack.MsgOptionText(escape(err.Error()), false)); err != nil {
				logger.Warn("Cannot tell a Slack user why their press did nothing", "err", classify(err))
			}
			continue
		}
		line := fmt.Sprintf("%s (<@%s>)", escape(done), cb.User.ID)
		if Done(atts, a.BlockID, a.ActionID, line) {
			_, _, _, err := api.UpdateMessageContext(ctx, channel, cb.Container.MessageTs, slack.MsgOptionAttachments(atts...))
			if err == nil {
				continue
			}
			logger.Warn("Cannot update a Slack message after a press; saying it in a new one", "err", classify(err))
		}
		// The message changed (or cannot be): the channel hears it all the same.
		if _, _, err := api.PostMessageContext(ctx, channel, slack.MsgOptionText(line, false)); err != nil {
			logger.Warn("Cannot confirm a press in Slack", "err", classify(err))
		}
	}
}
