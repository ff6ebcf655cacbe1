package router

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"sync"

	"github.com/prometheus/alertmanager/template"
	"github.com/prometheus/common/model"

	"github.com/alertrouter/alertrouter/config"
	"github.com/alertrouter/alertrouter/dispatch"
	"github.com/alertrouter/alertrouter/receivers"
	"github.com/alertrouter/alertrouter/router/auth"
	"github.com/alertrouter/alertrouter/router/links"
	"github.com/alertrouter/alertrouter/silences"
	"github.com/alertrouter/alertrouter/store"
	"github.com/alertrouter/alertrouter/watchdog"
)

// Acting on an alert from its message: the chat robots and email carry signed links
// (router/links) to a page that acknowledges or silences the alert, and says so in the
// channel the message came from.

// Route and host group of the confirmations of actions taken from a message.
const actionsRoute = "actions"

// linkKey is the server's key for links, read from the store once.
type linkKey struct {
	mu  sync.Mutex
	key []byte
}

func (s *Server) linkKeyOf(ctx context.Context) ([]byte, error) {
	s.links.mu.Lock()
	defer s.links.mu.Unlock()
	if s.links.key == nil {
		key, err := s.store.Key(ctx, "links", s.now())
		if err != nil {
			return nil, err
		}
		s.links.key = key
	}
	return s.links.key, nil
}

// actionLinks puts the links to act on each firing alert of msg in its annotations
// (receivers.LinkAnnotations). The dispatcher calls it for the receivers that show them:
// as links when the console has an external URL to link to, as buttons always (only their
// token counts). Notices (of the watchdog, of silences, of these actions) have no episode
// to act on and get none.
func (s *Server) actionLinks(msg *receivers.Message, asButtons bool) {
	web := &s.runtime.Load().cfg.Web
	base := web.URL()
	if base == nil && asButtons {
		base = &url.URL{Path: "/"}
	}
	if base == nil || slices.Contains([]string{watchdog.Route, silences.Route, actionsRoute}, msg.Route) {
		return
	}
	key, err := s.linkKeyOf(context.Background())
	if err != nil {
		s.logger.Error("Cannot read the key of the action links; messages go without them", "err", err)
		return
	}
	now := s.now()
	for i := range msg.Data.Alerts {
		a := &msg.Data.Alerts[i]
		if a.Status != string(model.AlertFiring) {
			continue
		}
		annotations := maps.Clone(a.Annotations) // the message's own: batches are shared
		if annotations == nil {
			annotations = template.KV{}
		}
		for j, action := range links.Actions {
			token, err := links.Make(key, links.Link{Action: action, Notification: msg.ID, Fingerprint: a.Fingerprint,
				StartsAt: store.ClaimTime(a.StartsAt), Expires: now.Add(web.SignedLinkTTL.Std())})
			if err != nil {
				break // not an Alertmanager fingerprint: nothing to link to
			}
			annotations[receivers.LinkAnnotations[j]] = base.JoinPath("act", token).String()
		}
		a.Annotations = annotations
	}
}

// errEpisodeOver refuses a link whose episode is not the alert's firing one any more.
var errEpisodeOver = errors.New("this link was for an episode of the alert that is over: it resolved, or fired again since")

// actPage is what a link's page shows: the action, the alert, and what came of it.
type actPage struct {
	Action   string
	Alert    alertView
	Receiver string
	Token    string
	Done     string
}

// linkTarget is a checked link, and what it acts on.
type linkTarget struct {
	link         links.Link
	notification store.Notification
	alert        template.Alert
}

// checkLink reads the link token and finds its alert, still in the episode it names.
func (s *Server) checkLink(ctx context.Context, token string) (linkTarget, int, error) {
	key, err := s.linkKeyOf(ctx)
	if err != nil {
		s.logger.Error("Cannot read the key of the action links", "err", err)
		return linkTarget{}, http.StatusServiceUnavailable, errStoreUnavailable
	}
	l, err := links.Check(key, token, s.now())
	switch {
	case errors.Is(err, links.ErrExpired):
		return linkTarget{}, http.StatusGone, errors.New("this link has expired: act from the console instead")
	case err != nil:
		return linkTarget{}, http.StatusBadRequest, errors.New("this link is not valid: it was not made here, or it was changed")
	}
	t := linkTarget{link: l}
	n, ok, err := s.store.Notification(ctx, l.Notification)
	if err != nil {
		return t, http.StatusServiceUnavailable, errStoreUnavailable
	}
	if !ok {
		return t, http.StatusNotFound, errors.New("the message of this link is gone (global.retention)")
	}
	t.notification = n
	msg, err := dispatch.Decode(&n)
	if err != nil {
		return t, http.StatusNotFound, errors.New("the message of this link cannot be read")
	}
	var found bool
	if t.alert, found = alertIn(msg, l.Fingerprint); !found {
		return t, http.StatusBadRequest, errors.New("this link is not valid: its alert is not in its message")
	}
	claims, err := s.store.AlertClaims(ctx, l.Fingerprint)
	if err != nil {
		return t, http.StatusServiceUnavailable, errStoreUnavailable
	}
	for _, c := range claims {
		if c.Receiver == n.Receiver && c.Status == string(model.AlertFiring) && c.StartsAt.Equal(l.StartsAt) {
			return t, http.StatusOK, nil
		}
	}
	return t, http.StatusConflict, errEpisodeOver
}

// handleActLink serves a link: GET shows what it would do, POST does it. Who may: a
// logged-in operator, or, with web.signed_links_act_without_login (or no logins at all),
// whoever has the link, recorded as the link of that receiver.
func (s *Server) handleActLink(w http.ResponseWriter, r *http.Request, id auth.Identity) {
	t, code, err := s.checkLink(r.Context(), r.PathValue("token"))
	if err != nil {
		s.render(w, r, id, code, "error", "Alert", err.Error())
		return
	}
	web := &s.runtime.Load().cfg.Web
	receiver := t.notification.Receiver
	loggedIn := id.Name != "" && id.Via != "open"
	switch {
	case loggedIn && id.Role.Allows(config.Operator):
		// acts as themselves
	case web.SignedLinksActWithoutLogin || !web.AuthEnabled():
		// The link is enough, whoever holds it: a viewer too.
		id = auth.Identity{Name: "link in " + receiver + "'s message", Role: config.Operator, Via: "link"}
	case loggedIn:
		s.render(w, r, id, http.StatusForbidden, "error", "Alert", string(id.Role)+" "+id.Name+" may not do this: it needs the operator role")
		return
	default:
		s.toLogin(w, r)
		return
	}
	p := actPage{Action: t.link.Action.String(), Alert: viewOfAlert(t.alert), Receiver: receiver, Token: r.PathValue("token")}
	if r.Method == http.MethodPost {
		done, acted, code, err := s.actOn(r.Context(), auth.Client(r), id, t, "link")
		if err != nil {
			s.render(w, r, id, code, "error", "Alert", err.Error())
			return
		}
		if acted {
			if err := s.confirm(r.Context(), t, done); err != nil {
				s.logger.Error("Cannot confirm an action in its channel", "receiver", receiver, "err", err)
			}
		}
		p.Done = done
	}
	s.render(w, r, id, http.StatusOK, "act", "Alert", p)
}

// actOn does what t's link says, as id, asked from client (for the audit log) through a
// link or button (from: "link", "slack") in the receiver's message. It returns what was
// done, and whether anything was (an alert acknowledged already is not again).
func (s *Server) actOn(ctx context.Context, client string, id auth.Identity, t linkTarget, from string) (done string, acted bool, code int, err error) {
	now := s.now()
	receiver := t.notification.Receiver
	where := fmt.Sprintf("a %s in %s's message", map[string]string{"link": "link", "slack": "Slack button"}[from], receiver)
	name := t.alert.Labels["alertname"]
	if d := t.link.Action.SilenceFor(); d > 0 {
		ams := s.silencer.Alertmanagers()
		if len(ams) == 0 {
			return "", false, http.StatusConflict, errors.New("no Alertmanager to silence on: add alertmanagers to the config")
		}
		matchers := exactMatchers(t.alert.Labels)
		if _, err := config.ParseMatchers(matchers); err != nil {
			// Alertmanager would refuse them too: say so now, not after storing.
			return "", false, http.StatusConflict, fmt.Errorf("this alert's labels make no silence Alertmanager reads: %w", err)
		}
		sil, _, err := s.store.AddSilence(ctx, store.Silence{Matchers: matchers, StartsAt: now, EndsAt: now.Add(d),
			CreatedBy: id.Name, Comment: "from " + where}, ams, now)
		s.auditFrom(ctx, client, id, "silence.add", fmt.Sprintf("silence %d %s for %s (%s)", sil.ID, matchers, d, where), err)
		if err != nil {
			return "", false, http.StatusServiceUnavailable, errStoreUnavailable
		}
		s.silencer.Wake()
		done = fmt.Sprintf("%s silenced %s for %s (silence %d)", id.Name, name, d, sil.ID)
	} else {
		_, kept, first, err := s.store.Acknowledge(ctx, t.link.Fingerprint, t.link.StartsAt, store.Ack{Author: id.Name, At: now,
			Source: from + ":" + receiver})
		s.auditFrom(ctx, client, id, "alert.acknowledge", t.link.Fingerprint+" ("+where+")", err)
		switch {
		case errors.Is(err, store.ErrNotFiring):
			return "", false, http.StatusConflict, errEpisodeOver
		case err != nil:
			return "", false, http.StatusServiceUnavailable, errStoreUnavailable
		}
		if !first {
			return fmt.Sprintf("%s was acknowledged already, by %s", name, kept.Author), false, http.StatusOK, nil
		}
		done = fmt.Sprintf("%s acknowledged %s", id.Name, name)
	}
	if instance := t.alert.Labels["instance"]; instance != "" {
		done += " on " + instance
	}
	return done, true, http.StatusOK, nil
}

// confirm tells the receiver of t's message what was done from it.
func (s *Server) confirm(ctx context.Context, t linkTarget, done string) error {
	now := s.now()
	n := t.notification
	alert := template.Alert{
		Status:      string(model.AlertFiring),
		Labels:      template.KV{"alertname": "AlertActedOn", "alert": t.alert.Labels["alertname"], "hostgroup": n.Hostgroup, "severity": "info"},
		Annotations: template.KV{"summary": done + "."},
		StartsAt:    now,
		Fingerprint: t.link.Fingerprint,
	}
	note := dispatch.Notification{Receiver: n.Receiver, Route: actionsRoute, Hostgroup: n.Hostgroup,
		Data: receivers.NewData(n.Receiver, alert.Status, template.Alerts{alert}, template.KV{"hostgroup": n.Hostgroup}, "")}
	err := s.store.Update(ctx, func(tx *store.Tx) error {
		_, err := dispatch.Enqueue(tx, note, now)
		return err
	})
	if err == nil {
		s.dispatcher.Notify([]string{n.Receiver})
	}
	return err
}
