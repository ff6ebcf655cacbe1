package router

import (
	"cmp"
	"context"
	"fmt"
	"html"
	"html/template"
	"maps"
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

// hourView is how many notifications of a receiver, accepted in the hour from Hour (the
// hour that ended HoursAgo hours ago), are in a state now.
type hourView struct {
	Receiver string    `json:"receiver"`
	Status   string    `json:"status"`
	Hour     time.Time `json:"hour"`
	HoursAgo int       `json:"hoursAgo"`
	Count    int       `json:"count"`
}

// weekHours is how far back the overview looks: the week's chart.
const weekHours = 7 * 24

// overview gathers what the overview shows; the charts only for the page (charts).
func (s *Server) overview(ctx context.Context, charts bool) (overview, error) {
	now := s.now()
	rows := map[[2]string]*overviewRow{}
	row := func(receiver, hostgroup string) *overviewRow {
		k := [2]string{receiver, hostgroup}
		if rows[k] == nil {
			rows[k] = &overviewRow{Receiver: receiver, Hostgroup: hostgroup}
		}
		return rows[k]
	}
	activity, err := s.store.Activity(ctx, now, weekHours)
	if err != nil {
		return overview{}, err
	}
	for _, a := range activity {
		if a.HoursAgo >= 24 {
			continue
		}
		r := row(a.Receiver, a.Hostgroup)
		day, hour := &r.PendingDay, &r.PendingHour
		switch a.State {
		case store.Sent:
			day, hour = &r.SentDay, &r.SentHour
		case store.Dead:
			day, hour = &r.DeadDay, &r.DeadHour
		}
		*day += a.N
		if a.HoursAgo == 0 {
			*hour += a.N
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
	loc := s.runtime.Load().cfg.Location()
	for _, span := range []struct {
		hours int
		to    *[]hourView
		chart *template.HTML
	}{{24, &out.Day, &out.DayChart}, {weekHours, &out.Week, &out.WeekChart}} {
		*span.to = hourly(activity, now, span.hours)
		if charts {
			*span.chart = hourlyChart(*span.to, now, span.hours, loc)
		}
	}
	return out, nil
}

func (s *Server) handleOverviewAPI(w http.ResponseWriter, r *http.Request, _ auth.Identity) {
	o, err := s.overview(r.Context(), false)
	if err != nil {
		s.logger.Error("Cannot read the overview", "err", err)
		writeError(w, http.StatusServiceUnavailable, errStoreUnavailable.Error())
		return
	}
	writeJSON(w, http.StatusOK, apiResponse{Status: "success", Data: o})
}

func (s *Server) handleOverview(w http.ResponseWriter, r *http.Request, id auth.Identity) {
	o, err := s.overview(r.Context(), true)
	if err != nil {
		s.logger.Error("Cannot read the overview", "err", err)
		s.render(w, r, id, http.StatusServiceUnavailable, "error", "Overview", errStoreUnavailable.Error())
		return
	}
	s.render(w, r, id, http.StatusOK, "overview", "Overview", o)
}

// hourly sums activity by receiver, state and hour, over the hours before now; an hour
// is named by when it began (now less its hours ago, plus one).
func hourly(activity []store.Activity, now time.Time, hours int) []hourView {
	type key struct {
		receiver string
		state    store.State
		ago      int
	}
	sum := map[key]int{}
	for _, a := range activity {
		if a.HoursAgo < hours {
			sum[key{a.Receiver, a.State, a.HoursAgo}] += a.N
		}
	}
	out := []hourView{}
	for k, n := range sum {
		out = append(out, hourView{Receiver: k.receiver, Status: string(k.state), Hour: now.Add(-time.Duration(k.ago+1) * time.Hour).UTC(), HoursAgo: k.ago, Count: n})
	}
	slices.SortFunc(out, func(a, b hourView) int {
		return cmp.Or(b.HoursAgo-a.HoursAgo, strings.Compare(a.Receiver, b.Receiver), strings.Compare(a.Status, b.Status))
	})
	return out
}

// chartColors are the bars' colours by delivery status.
var chartColors = map[string]string{string(store.Sent): "#2f855a", string(store.Pending): "#d69e2e", string(store.Dead): "#c53030"}

// hourlyChart draws the notifications per hour as an SVG: a row of stacked bars (sent,
// pending, dead) for each receiver, over the hours before now, labelled in loc.
func hourlyChart(counts []hourView, now time.Time, hours int, loc *time.Location) template.HTML {
	byReceiver := map[string]map[int]map[string]int{} // receiver, slot (0 the oldest), status
	peak := 1
	for _, c := range counts {
		slot := hours - 1 - c.HoursAgo
		if byReceiver[c.Receiver] == nil {
			byReceiver[c.Receiver] = map[int]map[string]int{}
		}
		if byReceiver[c.Receiver][slot] == nil {
			byReceiver[c.Receiver][slot] = map[string]int{}
		}
		byReceiver[c.Receiver][slot][c.Status] += c.Count
	}
	statuses := []string{string(store.Sent), string(store.Pending), string(store.Dead)}
	for _, slots := range byReceiver {
		for _, st := range slots {
			total := 0
			for _, status := range statuses {
				total += st[status]
			}
			peak = max(peak, total)
		}
	}
	receivers := slices.Sorted(maps.Keys(byReceiver))
	start := func(slot int) time.Time { return now.Add(-time.Duration(hours-slot) * time.Hour).In(loc) }
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
			for _, status := range statuses {
				n := st[status]
				if n == 0 {
					continue
				}
				h := float64(rowH-6) * float64(n) / float64(peak)
				bottom -= h
				fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s %s: %d %s</title></rect>`,
					float64(labelW)+barW*float64(slot), bottom, max(barW-1, 1), h, chartColors[status],
					html.EscapeString(r), start(slot).Format("01-02 15:04"), n, status)
			}
		}
	}
	step := max(hours/6, 1)
	for slot := 0; slot < hours; slot += step {
		fmt.Fprintf(&b, `<text x="%.1f" y="12" font-size="11" fill="#5f6b7a">%s</text>`,
			float64(labelW)+barW*float64(slot), start(slot).Format("01-02 15:04"))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String()) // built here, every text in it escaped
}
