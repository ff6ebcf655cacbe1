package router

import (
	"context"
	"fmt"
	"html"
	"html/template"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/alertrouter/alertrouter/router/auth"
	"github.com/alertrouter/alertrouter/store"
)

// overview is the console's first page: per receiver and host group, what was sent,
// what died, what waits; which receivers are paused; their last errors; and the hourly
// traffic of the last day and week.
type overview struct {
	Rows   []overviewRow   `json:"rows"`
	Paused []pausedView    `json:"paused"`
	Errors []lastErrorView `json:"lastErrors"`
	// Hourly counts for the charts, and the charts drawn (for the page).
	Day       []hourView    `json:"hourly24h"`
	Week      []hourView    `json:"hourly7d"`
	DayChart  template.HTML `json:"-"`
	WeekChart template.HTML `json:"-"`
}

type overviewRow struct {
	Receiver  string `json:"receiver"`
	Hostgroup string `json:"hostgroup"`
	// Counts of the notifications accepted in the last hour and day, by their state now.
	SentHour    int `json:"sentLastHour"`
	DeadHour    int `json:"deadLastHour"`
	PendingHour int `json:"pendingLastHour"`
	SentDay     int `json:"sentLastDay"`
	DeadDay     int `json:"deadLastDay"`
	PendingDay  int `json:"pendingLastDay"`
	// What waits now, however old.
	Pending int        `json:"pending"`
	Oldest  *time.Time `json:"oldestPending,omitempty"`
	NextDue *time.Time `json:"nextDue,omitempty"`
}

type pausedView struct {
	Receiver string    `json:"receiver"`
	Until    time.Time `json:"until"`
}

type lastErrorView struct {
	Receiver string    `json:"receiver"`
	Error    string    `json:"error"`
	At       time.Time `json:"at"`
}

type hourView struct {
	Receiver string    `json:"receiver"`
	Status   string    `json:"status"`
	Hour     time.Time `json:"hour"`
	Count    int       `json:"count"`
}

func (s *Server) overview(ctx context.Context) (overview, error) {
	now := s.now()
	rows := map[[2]string]*overviewRow{}
	row := func(receiver, hostgroup string) *overviewRow {
		k := [2]string{receiver, hostgroup}
		if rows[k] == nil {
			rows[k] = &overviewRow{Receiver: receiver, Hostgroup: hostgroup}
		}
		return rows[k]
	}
	for _, span := range []struct {
		since               time.Time
		sent, dead, pending func(*overviewRow) *int
	}{
		{now.Add(-time.Hour), func(r *overviewRow) *int { return &r.SentHour }, func(r *overviewRow) *int { return &r.DeadHour }, func(r *overviewRow) *int { return &r.PendingHour }},
		{now.Add(-24 * time.Hour), func(r *overviewRow) *int { return &r.SentDay }, func(r *overviewRow) *int { return &r.DeadDay }, func(r *overviewRow) *int { return &r.PendingDay }},
	} {
		counts, err := s.store.Counts(ctx, span.since)
		if err != nil {
			return overview{}, err
		}
		for _, c := range counts {
			r := row(c.Receiver, c.Hostgroup)
			switch c.State {
			case store.Sent:
				*span.sent(r) += c.N
			case store.Dead:
				*span.dead(r) += c.N
			default:
				*span.pending(r) += c.N
			}
		}
	}
	backlogs, err := s.store.Backlogs(ctx)
	if err != nil {
		return overview{}, err
	}
	for _, b := range backlogs {
		r := row(b.Receiver, b.Hostgroup)
		oldest, next := b.Oldest.UTC(), b.NextDue.UTC()
		r.Pending, r.Oldest, r.NextDue = b.Pending, &oldest, &next
	}
	var out overview
	for _, r := range rows {
		out.Rows = append(out.Rows, *r)
	}
	slices.SortFunc(out.Rows, func(a, b overviewRow) int {
		return strings.Compare(a.Receiver+"\x00"+a.Hostgroup, b.Receiver+"\x00"+b.Hostgroup)
	})
	out.Paused = []pausedView{}
	for receiver, until := range s.dispatcher.Paused() {
		out.Paused = append(out.Paused, pausedView{Receiver: receiver, Until: until.UTC()})
	}
	slices.SortFunc(out.Paused, func(a, b pausedView) int { return strings.Compare(a.Receiver, b.Receiver) })
	errs, err := s.store.LastErrors(ctx, now.Add(-24*time.Hour))
	if err != nil {
		return overview{}, err
	}
	out.Errors = []lastErrorView{}
	for _, e := range errs {
		out.Errors = append(out.Errors, lastErrorView{Receiver: e.Receiver, Error: e.Error, At: e.At.UTC()})
	}
	for _, span := range []struct {
		hours int
		to    *[]hourView
		chart *template.HTML
	}{{24, &out.Day, &out.DayChart}, {7 * 24, &out.Week, &out.WeekChart}} {
		from := now.Truncate(time.Hour).Add(-time.Duration(span.hours-1) * time.Hour)
		counts, err := s.store.Hourly(ctx, from)
		if err != nil {
			return overview{}, err
		}
		*span.to = []hourView{}
		for _, c := range counts {
			*span.to = append(*span.to, hourView{Receiver: c.Receiver, Status: string(c.State), Hour: c.Hour.UTC(), Count: c.N})
		}
		*span.chart = hourlyChart(counts, from, span.hours, s.runtime.Load().cfg.Location())
	}
	return out, nil
}

func (s *Server) handleOverviewAPI(w http.ResponseWriter, r *http.Request, _ auth.Identity) {
	o, err := s.overview(r.Context())
	if err != nil {
		s.logger.Error("Cannot read the overview", "err", err)
		writeError(w, http.StatusServiceUnavailable, "store unavailable")
		return
	}
	writeJSON(w, http.StatusOK, apiResponse{Status: "success", Data: o})
}

func (s *Server) handleOverview(w http.ResponseWriter, r *http.Request, id auth.Identity) {
	o, err := s.overview(r.Context())
	if err != nil {
		s.logger.Error("Cannot read the overview", "err", err)
		s.render(w, r, id, http.StatusServiceUnavailable, "error", "Overview", "store unavailable")
		return
	}
	s.render(w, r, id, http.StatusOK, "overview", "Overview", o)
}

// chartColors are the bars' colours by delivery status.
var chartColors = map[store.State]string{store.Sent: "#2f855a", store.Pending: "#d69e2e", store.Dead: "#c53030"}

// hourlyChart draws the notifications per hour as an SVG: a row of stacked bars (sent,
// pending, dead) for each receiver, over hours hours from from, labelled in loc.
func hourlyChart(counts []store.HourCount, from time.Time, hours int, loc *time.Location) template.HTML {
	byReceiver := map[string]map[int]map[store.State]int{}
	peak := 1
	for _, c := range counts {
		slot := int(c.Hour.Sub(from) / time.Hour)
		if slot < 0 || slot >= hours {
			continue
		}
		if byReceiver[c.Receiver] == nil {
			byReceiver[c.Receiver] = map[int]map[store.State]int{}
		}
		if byReceiver[c.Receiver][slot] == nil {
			byReceiver[c.Receiver][slot] = map[store.State]int{}
		}
		byReceiver[c.Receiver][slot][c.State] += c.N
	}
	for _, slots := range byReceiver {
		for _, st := range slots {
			peak = max(peak, st[store.Sent]+st[store.Pending]+st[store.Dead])
		}
	}
	receivers := slices.Sorted(func(yield func(string) bool) {
		for r := range byReceiver {
			if !yield(r) {
				return
			}
		}
	})
	const labelW, plotW, rowH, axisH = 140, 720, 56, 18
	barW := float64(plotW) / float64(hours)
	height := axisH + rowH*max(len(receivers), 1)
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" class="chart" width="%d" height="%d" viewBox="0 0 %d %d" role="img">`,
		labelW+plotW+10, height, labelW+plotW+10, height)
	if len(receivers) == 0 {
		fmt.Fprintf(&b, `<text x="%d" y="%d" fill="#5f6b7a">no notifications</text>`, labelW, axisH+20)
	}
	for i, r := range receivers {
		y0 := axisH + rowH*i
		fmt.Fprintf(&b, `<text x="0" y="%d" font-size="12">%s</text>`, y0+rowH/2, html.EscapeString(r))
		fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#d9dee4"/>`, labelW, y0+rowH-2, labelW+plotW, y0+rowH-2)
		for slot, st := range byReceiver[r] {
			bottom := float64(y0 + rowH - 2)
			for _, state := range []store.State{store.Sent, store.Pending, store.Dead} {
				n := st[state]
				if n == 0 {
					continue
				}
				h := float64(rowH-6) * float64(n) / float64(peak)
				bottom -= h
				hour := from.Add(time.Duration(slot) * time.Hour).In(loc)
				fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s %s: %d %s</title></rect>`,
					float64(labelW)+barW*float64(slot), bottom, max(barW-1, 1), h, chartColors[state],
					html.EscapeString(r), hour.Format("01-02 15:00"), n, state)
			}
		}
	}
	step := max(hours/6, 1)
	for slot := 0; slot < hours; slot += step {
		fmt.Fprintf(&b, `<text x="%.1f" y="12" font-size="11" fill="#5f6b7a">%s</text>`,
			float64(labelW)+barW*float64(slot), from.Add(time.Duration(slot)*time.Hour).In(loc).Format("01-02 15:00"))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String()) // built here, every text in it escaped
}
