// Package loadbench drives an open-loop load generator (vegeta) at rising
// rates against one route at a time, and reports each step: the rate
// achieved, the goodput, p50/p99/max latency, errors and 503s, and the CPU
// spent per request by the processes watched. It finds a route's knee (the
// highest rate whose p99 stays under the route's limit with no error) and
// measures the goodput at twice the knee. It also runs pgbench -S as a
// baseline. `inspectonce bench load` wires it to a service it starts.
package loadbench

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"text/tabwriter"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// Route is one route under load.
type Route struct {
	Name string
	// Limit is the p99 a step must stay under to count towards the knee.
	Limit time.Duration
	// Targeter gives the requests; it is called from many goroutines.
	Targeter vegeta.Targeter
}

// Options tune a climb.
type Options struct {
	// Duration of each step, and Warmup run at the first rate before the
	// steps (not reported; 0 skips it).
	Duration, Warmup time.Duration
	// Timeout of one request: past it the request counts as an error.
	Timeout time.Duration
	// Pause between steps, so one step's backlog does not spill into the next.
	Pause time.Duration
	// CPU, when set, is the CPU time used so far by the processes serving
	// the load (the service and PostgreSQL): the difference over a step,
	// divided by its requests, is the CPU per request.
	CPU func() (time.Duration, error)
	// Progress receives a line per step as it finishes (nil: none).
	Progress io.Writer
	// StopAfter consecutive steps over the limits end the climb (0 means
	// 2): one noisy step on a shared machine does not end it.
	StopAfter int
}

// Step is the outcome of one rate.
type Step struct {
	Route string
	// Offered is the rate asked for (req/s); Achieved the rate the
	// generator sent at.
	Offered  int
	Achieved float64
	// Duration is how long the step sent for.
	Duration time.Duration
	// Goodput is the successful (2xx, 3xx) answers per second, over the
	// step and the wait for its last answers.
	Goodput  float64
	Requests uint64
	// Success is the share of successful answers (0-1).
	Success       float64
	P50, P99, Max time.Duration
	// Errors counts every request that did not succeed: transport errors,
	// timeouts and 4xx/5xx answers; Unavailable the 503s among them.
	Errors      int
	Unavailable int
	// FirstError is one of the errors, to say what they were.
	FirstError string
	// CPUPerRequest is 0 when CPU is not measured.
	CPUPerRequest time.Duration
	// OK: p99 under the route's limit, no error, and the generator kept
	// up (it sent at least 90 % of the rate offered).
	OK bool
}

// RunStep runs route r at rate req/s for d.
func RunStep(ctx context.Context, r Route, rate int, d time.Duration, o Options) (Step, error) {
	if rate <= 0 {
		return Step{}, fmt.Errorf("loadbench: rate must be positive, got %d", rate)
	}
	timeout := o.Timeout
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	// A transport of the step's own, closed after it: a step's connections
	// would otherwise stay open into the next steps (on both sides) until
	// file descriptors or ports ran out after an overloaded step.
	tr := &http.Transport{Proxy: http.ProxyFromEnvironment, DialContext: (&net.Dialer{Timeout: 30 * time.Second,
		KeepAlive: 30 * time.Second}).DialContext, MaxIdleConnsPerHost: 10000}
	defer tr.CloseIdleConnections()
	atk := vegeta.NewAttacker(vegeta.Client(&http.Client{Transport: tr}), vegeta.Timeout(timeout), vegeta.KeepAlive(true),
		vegeta.Connections(10000), vegeta.MaxConnections(0), vegeta.Redirects(vegeta.NoFollow))
	var cpu0 time.Duration
	if o.CPU != nil {
		var err error
		if cpu0, err = o.CPU(); err != nil {
			return Step{}, err
		}
	}
	var m vegeta.Metrics
	s := Step{Route: r.Name, Offered: rate, Duration: d}
	results := atk.Attack(r.Targeter, vegeta.Rate{Freq: rate, Per: time.Second}, d, r.Name)
	for res := range results {
		if ctx.Err() != nil {
			atk.Stop()
		}
		m.Add(res)
		if res.Code == http.StatusServiceUnavailable {
			s.Unavailable++
		}
		if res.Error != "" || res.Code < 200 || res.Code >= 400 {
			s.Errors++
			if s.FirstError == "" {
				s.FirstError = res.Error
				if s.FirstError == "" {
					s.FirstError = fmt.Sprintf("%d %s", res.Code, firstLine(res.Body))
				}
			}
		}
	}
	m.Close()
	if err := ctx.Err(); err != nil {
		return s, err
	}
	s.Achieved, s.Requests, s.Success = m.Rate, m.Requests, m.Success
	s.P50, s.P99, s.Max = m.Latencies.P50, m.Latencies.P99, m.Latencies.Max
	if span := m.Duration + m.Wait; span > 0 {
		s.Goodput = float64(m.Requests-uint64(s.Errors)) / span.Seconds()
	}
	if o.CPU != nil && m.Requests > 0 {
		cpu1, err := o.CPU()
		if err != nil {
			return s, err
		}
		s.CPUPerRequest = (cpu1 - cpu0) / time.Duration(m.Requests)
	}
	s.OK = s.Errors == 0 && s.Requests > 0 && s.P99 < r.Limit && !s.lagging()
	return s, nil
}

func firstLine(b []byte) string {
	s, _, _ := strings.Cut(string(b), "\n")
	if len(s) > 120 {
		s = s[:120]
	}
	return s
}

// Climb is the outcome of one route's rising rates.
type Climb struct {
	Route Route
	Steps []Step
	// Knee is the highest rate whose step was OK (nil if none was); the
	// climb ends after StopAfter steps over in a row. AtLimit: the highest
	// rate tried was OK, so the knee is at least that.
	Knee    *Step
	AtLimit bool
	// Over is the step at twice the knee (nil without a knee).
	Over *Step
}

// Run climbs route r through rates (ascending): a warm-up, then one step
// per rate until StopAfter steps in a row are over the limits, then one step
// at twice the knee.
func Run(ctx context.Context, r Route, rates []int, o Options) (Climb, error) {
	c := Climb{Route: r}
	if len(rates) == 0 {
		return c, fmt.Errorf("loadbench: no rates for %s", r.Name)
	}
	if o.Warmup > 0 {
		if _, err := RunStep(ctx, r, rates[0], o.Warmup, Options{Timeout: o.Timeout}); err != nil {
			return c, err
		}
	}
	step := func(rate int) (Step, error) {
		if o.Pause > 0 {
			select {
			case <-ctx.Done():
				return Step{}, ctx.Err()
			case <-time.After(o.Pause):
			}
		}
		s, err := RunStep(ctx, r, rate, o.Duration, o)
		if err != nil {
			return s, err
		}
		c.Steps = append(c.Steps, s)
		if o.Progress != nil {
			fmt.Fprintln(o.Progress, s.Line())
		}
		return s, nil
	}
	stopAfter := o.StopAfter
	if stopAfter <= 0 {
		stopAfter = 2
	}
	over := 0
	var knee *Step
	for _, rate := range rates {
		s, err := step(rate)
		if err != nil {
			return c, err
		}
		if !s.OK {
			if over++; over >= stopAfter {
				break
			}
			continue
		}
		over = 0
		k := s
		knee = &k
	}
	if knee == nil {
		return c, nil
	}
	c.Knee = knee
	c.AtLimit = knee.Offered == rates[len(rates)-1]
	s, err := step(2 * knee.Offered)
	if err != nil {
		return c, err
	}
	c.Over = &s
	return c, nil
}

// lagging: the generator sent less than 90 % of the requests the rate
// offered over the step, so the step did not test that rate. (Counted in
// requests: the rate vegeta reports is noisy over a short step.)
func (s Step) lagging() bool {
	return float64(s.Requests) < 0.9*float64(s.Offered)*s.Duration.Seconds()
}

// Line is a step as one line of text.
func (s Step) Line() string {
	ok := "ok"
	switch {
	case s.OK:
	case s.Errors == 0 && s.lagging():
		ok = "over (the generator could not keep up)"
	default:
		ok = "over"
	}
	line := fmt.Sprintf("%-11s offered %6d/s  achieved %8.1f/s  goodput %8.1f/s  success %6.2f%%  p50 %8s  p99 %8s  max %8s  errors %d  503 %d  cpu/req %s  %s",
		s.Route, s.Offered, s.Achieved, s.Goodput, 100*s.Success, ms(s.P50), ms(s.P99), ms(s.Max), s.Errors, s.Unavailable, cpuMs(s.CPUPerRequest), ok)
	if s.FirstError != "" {
		line += "  (first error: " + s.FirstError + ")"
	}
	return line
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond)) }

func cpuMs(d time.Duration) string {
	if d <= 0 {
		return "-"
	}
	return ms(d)
}

// Baseline is a pgbench figure.
type Baseline struct {
	Name string
	TPS  float64
}

// Summary writes the table of knees: per route the knee, the CPU per
// request at it, the goodput at twice the knee and its share of the knee;
// then the baselines.
func Summary(w io.Writer, climbs []Climb, baselines []Baseline) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "route\tp99 limit\tknee (req/s)\tp99 at knee\tcpu/req at knee\tgoodput at 2x knee\tof knee\t503 at 2x\tp99 at 2x")
	for _, c := range climbs {
		if c.Knee == nil {
			first := Step{}
			if len(c.Steps) > 0 {
				first = c.Steps[0]
			}
			fmt.Fprintf(tw, "%s\t%s\t< %d\t%s\t%s\t-\t-\t-\t-\n", c.Route.Name, ms(c.Route.Limit), first.Offered, ms(first.P99), cpuMs(first.CPUPerRequest))
			continue
		}
		k := *c.Knee
		knee := fmt.Sprint(k.Offered)
		if c.AtLimit {
			knee = "≥ " + knee + " (highest tried)"
		}
		over, share, n503, p99 := "-", "-", "-", "-"
		if o := c.Over; o != nil {
			over = fmt.Sprintf("%.0f", o.Goodput)
			share = fmt.Sprintf("%.0f %%", 100*o.Goodput/float64(k.Offered))
			n503 = fmt.Sprint(o.Unavailable)
			p99 = ms(o.P99)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", c.Route.Name, ms(c.Route.Limit), knee, ms(k.P99), cpuMs(k.CPUPerRequest), over, share, n503, p99)
	}
	for _, b := range baselines {
		fmt.Fprintf(tw, "%s\t\t%.0f TPS\t\t\t\t\t\t\n", b.Name, b.TPS)
	}
	return tw.Flush()
}
