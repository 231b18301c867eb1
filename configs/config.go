// Package configs holds InspectOnce's configuration: the embedded default YAML, an
// optional file read over it, and INSPECTONCE_* environment overrides on top.
package configs

import (
	_ "embed"
	"errors"
	"fmt"
	"math"
	"net"
	"net/url"
	"os"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
	"gopkg.in/yaml.v3"

	"inspectonce/messages"
	"inspectonce/risk"
)

//go:embed default.yaml
var defaultYAML []byte

// EnvPrefix starts every environment override.
const EnvPrefix = "INSPECTONCE_"

// Config is the whole configuration of one process.
type Config struct {
	HTTP      HTTP      `yaml:"http"`
	Database  Database  `yaml:"database"`
	Redis     Redis     `yaml:"redis"`
	TimeZone  string    `yaml:"time_zone"`
	Log       Log       `yaml:"log"`
	Worker    Worker    `yaml:"worker"`
	Scheduler Scheduler `yaml:"scheduler"`
	Demands   Demands   `yaml:"demands"`
	Import    Import    `yaml:"import"`
	Risk      Risk      `yaml:"risk"`
	Calendar  Calendar  `yaml:"calendar"`
	Planning  Planning  `yaml:"planning"`
	Routine   Routine   `yaml:"routine"`
	Results   Results   `yaml:"results"`
	Webhooks  Webhooks  `yaml:"webhooks"`
	// Language is the language of the text the service writes for no one
	// reader (risk reasons in the API, follow-up and routine demand
	// titles): zh or en.
	Language string `yaml:"language"`
	// Notifications sets the language of notices, by recipient kind.
	Notifications Notifications `yaml:"notifications"`
	// Audit configures the audit log's sequencer.
	Audit    Audit `yaml:"audit"`
	location *time.Location
}

// Audit configures the sequencer that chains the audit log (store.ChainAudit).
type Audit struct {
	// ChainInterval is how often each process runs a chaining pass: a
	// committed audit row gets its place in the hash chain within about
	// this long while any process of the service runs.
	ChainInterval time.Duration `yaml:"chain_interval"`
}

// Concurrency bounds the requests one process serves at once, by route class
// (http.concurrency). A request that finds its class full waits up to
// QueueWait for a slot, then is refused at once with 503 and Retry-After.
// A limit of 0 turns its class's limit off.
type Concurrency struct {
	// Public: anonymous pages and data (/v/<code>, open data, /results,
	// feeds, sign-in).
	Public int `yaml:"public"`
	// Reads: signed-in GETs (API and pages).
	Reads int `yaml:"reads"`
	// Writes: signed-in POST, PUT, PATCH and DELETE.
	Writes int `yaml:"writes"`
	// Bulk: imports, CSV and Excel downloads, plan publication.
	Bulk int `yaml:"bulk"`
	// QueueWait is how long a read (public or signed-in) may wait for a
	// slot (tens of ms).
	QueueWait time.Duration `yaml:"queue_wait"`
	// WriteQueueWait is how long a write or bulk request may wait: longer,
	// since a write refused during a short stall costs its user the form
	// again, and a write's latency budget is larger (tens of ms).
	WriteQueueWait time.Duration `yaml:"write_queue_wait"`
	// RetryAfter is the Retry-After of a refusal (whole seconds, at least 1).
	RetryAfter time.Duration `yaml:"retry_after"`
}

// HTTP configures the API listener.
type HTTP struct {
	Addr             string        `yaml:"addr"`
	BodyLimitBytes   int64         `yaml:"body_limit_bytes"`
	ImportLimitBytes int64         `yaml:"import_limit_bytes"`
	ReadTimeout      time.Duration `yaml:"read_timeout"`
	WriteTimeout     time.Duration `yaml:"write_timeout"`
	ShutdownTimeout  time.Duration `yaml:"shutdown_timeout"`
	// RequestTimeout bounds how long one request may wait (on the database
	// above all): a Postgres that hangs instead of refusing connections
	// (frozen, a half-open network) answers 503 after this, not never.
	// Bulk imports, the open-data CSV and plan publication are exempt: they
	// may be long.
	RequestTimeout time.Duration `yaml:"request_timeout"`
	// PublicBaseURL is the service's address as the public reaches it; visit
	// codes' QR images and notices link to PublicBaseURL + /v/<code>.
	PublicBaseURL string `yaml:"public_base_url"`
	// MetricsAddr, when set, serves GET /metrics (no token) on a listener of
	// its own, for a scraper on a private network; the main listener then has
	// no /metrics. Empty serves /metrics on Addr to admin tokens only.
	MetricsAddr string `yaml:"metrics_addr"`
	// TrustedProxies are the addresses (IPs or CIDRs) of the reverse proxies
	// in front of the service. Only a request whose socket peer is one of them
	// is keyed by the client address in X-Forwarded-For; empty (the default)
	// keys every request by its socket peer, so a forged header changes nothing.
	TrustedProxies []string `yaml:"trusted_proxies"`
	// RateLimits bound what one client may ask per second (429 past them).
	RateLimits RateLimits `yaml:"rate_limits"`
	// Session bounds the browser sessions the login page starts.
	Session Session `yaml:"session"`
	// Concurrency bounds the requests served at once, by route class.
	Concurrency Concurrency `yaml:"concurrency"`
	// SecureCookies says when the session cookie carries Secure: "auto"
	// (the request came over TLS, or PublicBaseURL is https: a TLS-terminating
	// proxy in front), "always" or "never".
	SecureCookies string `yaml:"secure_cookies"`
}

// Session holds a browser session's lifetimes.
type Session struct {
	// Idle ends a session after this long without a request.
	Idle time.Duration `yaml:"idle"`
	// Absolute ends a session this long after sign-in.
	Absolute time.Duration `yaml:"absolute"`
}

// Notifications configures what notices say.
type Notifications struct {
	// Language is the language of notices' titles and texts (inbox and
	// webhooks), by recipient kind: zh or en.
	Language NoticeLanguage `yaml:"language"`
}

// NoticeLanguage is a language per recipient kind.
type NoticeLanguage struct {
	Inspector string `yaml:"inspector"`
	Team      string `yaml:"team"`
	Business  string `yaml:"business"`
}

// Lang is the catalog language of s (zh when s is not one; validate
// refuses such a config).
func Lang(s string) messages.Lang {
	l, ok := messages.Parse(s)
	if !ok {
		return messages.Default
	}
	return l
}

// Webhooks restricts where webhooks may deliver.
type Webhooks struct {
	// AllowPrivate lets webhook URLs reach loopback, private, link-local,
	// unique-local, CGNAT and unspecified addresses (refused by default, so a
	// webhook cannot be aimed at the service's own network).
	AllowPrivate bool `yaml:"allow_private"`
}

// CookieSecure says whether a cookie set in answer to a request that came
// over TLS (tls) gets the Secure attribute.
func (h HTTP) CookieSecure(tls bool) bool {
	switch h.SecureCookies {
	case "always":
		return true
	case "never":
		return false
	}
	return tls || strings.HasPrefix(h.PublicBaseURL, "https://")
}

// RateLimits are the per-client token buckets of the HTTP listener, kept in
// the memory of each replica.
type RateLimits struct {
	// CodePage: the public visit code page and QR image (/v/<code>), per
	// client address.
	CodePage RateLimit `yaml:"code_page"`
	// OpenData: /api/v1/open-data/*, /results and /feeds/*, per client address.
	OpenData RateLimit `yaml:"open_data"`
	// Login: failed sign-ins (POST /login with a bad token), per client address.
	Login RateLimit `yaml:"login"`
	// Writes: POST, PUT and DELETE under /api/v1, per token.
	Writes RateLimit `yaml:"writes"`
	// MaxClients bounds the buckets each class keeps: past it, the client
	// seen least recently is forgotten (and starts again with a full bucket).
	MaxClients int `yaml:"max_clients"`
}

// RateLimit is one token bucket: Burst requests at once, refilled at Rate
// per second. A zero Rate or Burst turns the limit off.
type RateLimit struct {
	Rate  float64 `yaml:"rate"`
	Burst int     `yaml:"burst"`
}

// Enabled reports whether the limit applies.
func (r RateLimit) Enabled() bool { return r.Rate > 0 && r.Burst > 0 }

// Database configures the PostgreSQL pool.
type Database struct {
	URL          string `yaml:"url"`
	MaxOpenConns int    `yaml:"max_open_conns"`
	MaxIdleConns int    `yaml:"max_idle_conns"`
	// WarmConns connections are opened and checked at start-up, so the
	// first requests do not pay for connecting.
	WarmConns int `yaml:"warm_conns"`
}

// Redis configures the queue's Redis.
type Redis struct {
	URL string `yaml:"url"`
}

// Log configures log/slog output.
type Log struct {
	Level  string `yaml:"level"`
	Format string `yaml:"format"`
}

// Worker configures the asynq worker pool.
type Worker struct {
	Concurrency     int           `yaml:"concurrency"`
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`
	// MetricsAddr is where `inspectonce worker` serves Prometheus metrics
	// (GET /metrics); empty serves none. `serve` and `all` serve them on the API.
	MetricsAddr string `yaml:"metrics_addr"`
}

// Scheduler configures the cron process.
type Scheduler struct {
	HealthInterval time.Duration `yaml:"health_interval"`
	// LeaderRetry is how often a replica that is not the leader tries to take
	// the leader lock.
	LeaderRetry time.Duration `yaml:"leader_retry"`
	// LeaderCheck is how often the leader pings its lock connection and checks
	// its epoch, stepping down on any error.
	LeaderCheck time.Duration    `yaml:"leader_check"`
	Entries     SchedulerEntries `yaml:"entries"`
	// TestEntry is the spec of an extra entry named test_entry; empty (the
	// default) means none. Tests use it (e.g. "@every 1s").
	TestEntry string `yaml:"test_entry"`
}

// SchedulerEntries are the cron specs (robfig/cron standard syntax, in the
// configured time zone) of the scheduler's entries; an empty spec disables one.
type SchedulerEntries struct {
	DailyRosters   string `yaml:"daily_rosters"`
	ReminderScan   string `yaml:"reminder_scan"`
	RoutineDemands string `yaml:"routine_demands"`
	WeeklyPlanning string `yaml:"weekly_planning"`
	PublishResults string `yaml:"publish_results"`
}

// SchedulerEntry is one configured entry: its name and cron spec.
type SchedulerEntry struct {
	Name string
	Spec string
}

// EntryList lists the enabled entries (non-empty specs) in a fixed order.
func (s Scheduler) EntryList() []SchedulerEntry {
	all := []SchedulerEntry{
		{"daily_rosters", s.Entries.DailyRosters},
		{"reminder_scan", s.Entries.ReminderScan},
		{"routine_demands", s.Entries.RoutineDemands},
		{"weekly_planning", s.Entries.WeeklyPlanning},
		{"publish_results", s.Entries.PublishResults},
		{"test_entry", s.TestEntry},
	}
	var out []SchedulerEntry
	for _, e := range all {
		if strings.TrimSpace(e.Spec) != "" {
			out = append(out, SchedulerEntry{e.Name, strings.TrimSpace(e.Spec)})
		}
	}
	return out
}

// Demands holds limits on submitted demands.
type Demands struct {
	MaxWindowDays  int `yaml:"max_window_days"`
	MaxListTargets int `yaml:"max_list_targets"`
}

// Import configures CSV registry imports.
type Import struct {
	BatchSize int `yaml:"batch_size"`
}

// Risk is the risk policy: draw weights and routine frequency per risk code.
type Risk struct {
	Weights             map[string]float64 `yaml:"weights"`
	RoutineIntervalDays map[string]int     `yaml:"routine_interval_days"`
	// Rule recomputes a business's code from its confirmed visits' results.
	Rule risk.Rule `yaml:"rule"`
}

// Results shapes what a confirmed visit's results lead to (store.ResultRules).
type Results struct {
	// PublishWithinWorkingDays is the publication deadline (一公开) of a
	// visit's results, in working days after the visit.
	PublishWithinWorkingDays int `yaml:"publish_within_working_days"`
	// RedoMinWindowWorkingDays is the shortest window, in working days, of
	// the demand that puts a not-done task back in the pool.
	RedoMinWindowWorkingDays int `yaml:"redo_min_window_working_days"`
	// ReinspectionWindowWorkingDays is the length, in working days, of the
	// window of a re-inspection after a rectification deadline.
	ReinspectionWindowWorkingDays int `yaml:"reinspection_window_working_days"`
	// MaxRectifyDays bounds a violation's rectification deadline, in days
	// after the visit: a later one is taken for a typing error (2062 for
	// 2026), which would keep the business red for decades.
	MaxRectifyDays int `yaml:"max_rectify_days"`
}

// Calendar lists the exceptions to the Monday-to-Friday working week.
type Calendar struct {
	Holidays        []string `yaml:"holidays"`
	WorkingWeekends []string `yaml:"working_weekends"`
}

// Planning bounds planning runs.
type Planning struct {
	// MaxHorizonDays is the longest horizon one plan may cover.
	MaxHorizonDays int `yaml:"max_horizon_days"`
	// WeeklyHorizonDays is the horizon of the plan the weekly_planning cron
	// entry starts (from the next working day); at most MaxHorizonDays.
	WeeklyHorizonDays int `yaml:"weekly_horizon_days"`
	// CompareIndependent makes every coordinated plan run also build its
	// independent counterpart and keep its figures (the comparison on the
	// dashboard). At district size that costs about as much as the plan.
	CompareIndependent bool `yaml:"compare_independent"`
	// Join lets a plan's new tasks join visits already on the calendar
	// (published by earlier plans) instead of knocking again (DESIGN.md §4a,
	// planner.Policy.Join); publication amends those visits and tells their
	// people through the outbox.
	Join bool `yaml:"join"`
	// ApprovalSteps are the recorded approvals (法制审核 …) a draft passes,
	// in order, before it may be published; empty = none.
	ApprovalSteps []string `yaml:"approval_steps"`
	// Randomness says who fixes the randomness of a plan's target draws
	// (docs/draws.md §3.8): "operator" (the shift follows from the published
	// plans alone), "witness" (frames are committed in public first, then a
	// witness token enters a value) or "public" (the same, with a public
	// number named in RandomnessSource, entered by an admin).
	Randomness string `yaml:"randomness"`
	// RandomnessSource names the value's source, declared in each commitment
	// before the value exists (e.g. "司法局见证人录入").
	RandomnessSource string `yaml:"randomness_source"`
	// ShiftJitter is how much of the unit circle the value moves the shift
	// by (0 < j ≤ 1): 1 = unpredictable, no rotation across cycles.
	ShiftJitter float64 `yaml:"shift_jitter"`
}

// Routine shapes the demands the routine_demands cron entry generates from the
// risk policy (risk.routine_interval_days).
type Routine struct {
	// AnnounceDays is the notice the businesses get (0 = unannounced).
	AnnounceDays int `yaml:"announce_days"`
	// Priorities per risk code (1 = first, 5 = last).
	Priorities map[string]int `yaml:"priorities"`
}

// Location is the configured time zone, valid after Load.
func (c *Config) Location() *time.Location {
	if c.location == nil {
		return time.UTC
	}
	return c.location
}

// Load reads the embedded defaults, then the file at path (if not empty), then the
// environment, and validates the result. Errors name the offending key.
func Load(path string, environ []string) (*Config, error) {
	var c Config
	if err := yaml.Unmarshal(defaultYAML, &c); err != nil {
		return nil, fmt.Errorf("embedded default config: %w", err)
	}
	if path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("config file: %w", err)
		}
		dec := yaml.NewDecoder(strings.NewReader(string(b)))
		dec.KnownFields(true)
		if err := dec.Decode(&c); err != nil {
			return nil, fmt.Errorf("config file %s: %w", path, err)
		}
	}
	env := map[string]string{}
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok && strings.HasPrefix(k, EnvPrefix) {
			env[k] = v
		}
	}
	if err := applyEnv(reflect.ValueOf(&c).Elem(), EnvPrefix, env); err != nil {
		return nil, err
	}
	if err := c.validate(); err != nil {
		return nil, err
	}
	return &c, nil
}

// EnvNames lists every environment variable Load understands, for documentation.
func EnvNames() []string {
	var names []string
	var walk func(t reflect.Type, prefix string)
	walk = func(t reflect.Type, prefix string) {
		for i := range t.NumField() {
			f := t.Field(i)
			tag := yamlName(f)
			if tag == "" {
				continue
			}
			name := prefix + strings.ToUpper(tag)
			if f.Type.Kind() == reflect.Struct && f.Type != reflect.TypeOf(time.Time{}) {
				walk(f.Type, name+"_")
				continue
			}
			names = append(names, name)
		}
	}
	walk(reflect.TypeOf(Config{}), EnvPrefix)
	sort.Strings(names)
	return names
}

func yamlName(f reflect.StructField) string {
	if !f.IsExported() {
		return ""
	}
	tag, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
	if tag == "-" {
		return ""
	}
	return tag
}

var durationType = reflect.TypeOf(time.Duration(0))

func applyEnv(v reflect.Value, prefix string, env map[string]string) error {
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		tag := yamlName(f)
		if tag == "" {
			continue
		}
		name := prefix + strings.ToUpper(tag)
		fv := v.Field(i)
		if f.Type.Kind() == reflect.Struct {
			if err := applyEnv(fv, name+"_", env); err != nil {
				return err
			}
			continue
		}
		raw, ok := env[name]
		if !ok {
			continue
		}
		if err := setFromString(fv, raw); err != nil {
			return fmt.Errorf("config: %s=%q: %w", name, raw, err)
		}
	}
	return nil
}

func setFromString(fv reflect.Value, raw string) error {
	raw = strings.TrimSpace(raw)
	switch {
	case fv.Type() == durationType:
		d, err := time.ParseDuration(raw)
		if err != nil {
			return errors.New("not a duration (use e.g. 30s, 5m)")
		}
		fv.SetInt(int64(d))
	case fv.Kind() == reflect.String:
		fv.SetString(raw)
	case fv.Kind() == reflect.Float64:
		x, err := strconv.ParseFloat(raw, 64)
		if err != nil {
			return errors.New("not a number")
		}
		fv.SetFloat(x)
	case fv.Kind() == reflect.Int || fv.Kind() == reflect.Int64:
		n, err := strconv.ParseInt(raw, 10, 64)
		if err != nil {
			return errors.New("not an integer")
		}
		fv.SetInt(n)
	case fv.Kind() == reflect.Bool:
		b, err := strconv.ParseBool(raw)
		if err != nil {
			return errors.New("not a boolean")
		}
		fv.SetBool(b)
	case fv.Kind() == reflect.Slice && fv.Type().Elem().Kind() == reflect.String:
		var parts []string
		for p := range strings.SplitSeq(raw, ",") {
			if p = strings.TrimSpace(p); p != "" {
				parts = append(parts, p)
			}
		}
		fv.Set(reflect.ValueOf(parts))
	case fv.Kind() == reflect.Map && fv.Type().Key().Kind() == reflect.String:
		m := reflect.MakeMap(fv.Type())
		for p := range strings.SplitSeq(raw, ",") {
			k, val, ok := strings.Cut(strings.TrimSpace(p), "=")
			if !ok || k == "" {
				return errors.New("not a list of key=value pairs")
			}
			ev := reflect.New(fv.Type().Elem()).Elem()
			switch ev.Kind() {
			case reflect.Float64:
				x, err := strconv.ParseFloat(val, 64)
				if err != nil {
					return fmt.Errorf("value of %s is not a number", k)
				}
				ev.SetFloat(x)
			case reflect.Int:
				x, err := strconv.Atoi(val)
				if err != nil {
					return fmt.Errorf("value of %s is not an integer", k)
				}
				ev.SetInt(int64(x))
			default:
				return fmt.Errorf("unsupported map value type %s", ev.Type())
			}
			m.SetMapIndex(reflect.ValueOf(k), ev)
		}
		fv.Set(m)
	default:
		return fmt.Errorf("unsupported type %s", fv.Type())
	}
	return nil
}

// validListenAddr reports whether a is host:port with a port number, checked
// at load so a typo stops start-up naming the key, not later as a listen error.
func validListenAddr(a string) bool {
	_, port, err := net.SplitHostPort(a)
	n, perr := strconv.Atoi(port)
	return err == nil && perr == nil && n >= 0 && n <= 65535
}

// ParseTrustedProxy reads one http.trusted_proxies entry: a CIDR
// (10.0.0.0/8) or a single address (10.0.0.5, ::1).
func ParseTrustedProxy(s string) (*net.IPNet, error) {
	s = strings.TrimSpace(s)
	if _, n, err := net.ParseCIDR(s); err == nil {
		return n, nil
	}
	ip := net.ParseIP(s)
	if ip == nil {
		return nil, fmt.Errorf("%q is not an IP address or CIDR (e.g. 10.0.0.5 or 10.0.0.0/8)", s)
	}
	bits := 128
	if ip4 := ip.To4(); ip4 != nil {
		ip, bits = ip4, 32
	}
	return &net.IPNet{IP: ip, Mask: net.CIDRMask(bits, bits)}, nil
}

func (c *Config) validate() error {
	var errs []error
	bad := func(key, why string) { errs = append(errs, fmt.Errorf("config: %s: %s", key, why)) }

	if c.HTTP.Addr == "" {
		bad("http.addr (INSPECTONCE_HTTP_ADDR)", "is required")
	}
	for _, l := range []struct{ key, v string }{{"language (INSPECTONCE_LANGUAGE)", c.Language},
		{"notifications.language.inspector (INSPECTONCE_NOTIFICATIONS_LANGUAGE_INSPECTOR)", c.Notifications.Language.Inspector},
		{"notifications.language.team (INSPECTONCE_NOTIFICATIONS_LANGUAGE_TEAM)", c.Notifications.Language.Team},
		{"notifications.language.business (INSPECTONCE_NOTIFICATIONS_LANGUAGE_BUSINESS)", c.Notifications.Language.Business}} {
		if _, ok := messages.Parse(l.v); !ok {
			bad(l.key, fmt.Sprintf("must be zh or en, got %q", l.v))
		}
	}
	if c.HTTP.BodyLimitBytes < 1024 {
		bad("http.body_limit_bytes", "must be at least 1024")
	}
	if c.HTTP.ImportLimitBytes < c.HTTP.BodyLimitBytes {
		bad("http.import_limit_bytes", "must be at least http.body_limit_bytes")
	}
	c.HTTP.PublicBaseURL = strings.TrimRight(c.HTTP.PublicBaseURL, "/")
	if u, err := url.Parse(c.HTTP.PublicBaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
		u.RawQuery != "" || u.Fragment != "" {
		bad("http.public_base_url (INSPECTONCE_HTTP_PUBLIC_BASE_URL)", "must be an absolute http:// or https:// URL without query, e.g. https://inspect.example.gov.cn")
	}
	switch c.HTTP.SecureCookies {
	case "auto", "always", "never":
	default:
		bad("http.secure_cookies (INSPECTONCE_HTTP_SECURE_COOKIES)", "must be auto, always or never")
	}
	if c.HTTP.Session.Absolute < c.HTTP.Session.Idle {
		bad("http.session.absolute (INSPECTONCE_HTTP_SESSION_ABSOLUTE)", "must be at least http.session.idle")
	}
	for key, d := range map[string]time.Duration{
		"http.session.idle": c.HTTP.Session.Idle, "http.session.absolute": c.HTTP.Session.Absolute,
		"http.read_timeout": c.HTTP.ReadTimeout, "http.write_timeout": c.HTTP.WriteTimeout,
		"http.shutdown_timeout": c.HTTP.ShutdownTimeout, "worker.shutdown_timeout": c.Worker.ShutdownTimeout,
		"http.request_timeout":      c.HTTP.RequestTimeout,
		"scheduler.health_interval": c.Scheduler.HealthInterval, "scheduler.leader_retry": c.Scheduler.LeaderRetry,
		"scheduler.leader_check": c.Scheduler.LeaderCheck,
	} {
		if d <= 0 {
			bad(key, "must be a positive duration")
		}
	}
	if u, err := url.Parse(c.Database.URL); c.Database.URL == "" || err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		bad("database.url (INSPECTONCE_DATABASE_URL)", "must be a postgres:// URL")
	}
	if c.Database.MaxOpenConns < 1 {
		bad("database.max_open_conns", "must be at least 1")
	}
	if u, err := url.Parse(c.Redis.URL); c.Redis.URL == "" || err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") {
		bad("redis.url (INSPECTONCE_REDIS_URL)", "must be a redis:// URL")
	}
	if a := c.HTTP.MetricsAddr; a != "" && !validListenAddr(a) {
		bad("http.metrics_addr (INSPECTONCE_HTTP_METRICS_ADDR)", "must be host:port (e.g. 127.0.0.1:9090), or empty to serve /metrics to admin tokens on http.addr")
	}
	for i, p := range c.HTTP.TrustedProxies {
		if _, err := ParseTrustedProxy(p); err != nil {
			bad(fmt.Sprintf("http.trusted_proxies[%d] (INSPECTONCE_HTTP_TRUSTED_PROXIES)", i), err.Error())
		}
	}
	for key, l := range map[string]RateLimit{
		"http.rate_limits.code_page": c.HTTP.RateLimits.CodePage, "http.rate_limits.open_data": c.HTTP.RateLimits.OpenData,
		"http.rate_limits.login": c.HTTP.RateLimits.Login, "http.rate_limits.writes": c.HTTP.RateLimits.Writes,
	} {
		if l.Rate < 0 || math.IsNaN(l.Rate) || math.IsInf(l.Rate, 0) {
			bad(key+".rate", "must be a number of requests per second, 0 or more (0 turns the limit off)")
		}
		if l.Burst < 0 {
			bad(key+".burst", "must be 0 or more (0 turns the limit off)")
		}
	}
	cc := c.HTTP.Concurrency
	for key, n := range map[string]int{"http.concurrency.public": cc.Public, "http.concurrency.reads": cc.Reads,
		"http.concurrency.writes": cc.Writes, "http.concurrency.bulk": cc.Bulk} {
		if n < 0 {
			bad(key, "must be 0 or more requests at once (0 turns the limit off)")
		}
	}
	if cc.QueueWait < 0 || cc.QueueWait > time.Second {
		bad("http.concurrency.queue_wait", "must be between 0 and 1s (tens of ms: past it a request is refused, not queued)")
	}
	if cc.WriteQueueWait < 0 || cc.WriteQueueWait > time.Second {
		bad("http.concurrency.write_queue_wait", "must be between 0 and 1s (tens of ms: past it a write is refused, not queued)")
	}
	if cc.RetryAfter < time.Second || cc.RetryAfter%time.Second != 0 {
		bad("http.concurrency.retry_after", "must be a whole number of seconds, at least 1s")
	}
	if c.Database.WarmConns < 0 || c.Database.WarmConns > c.Database.MaxOpenConns ||
		(c.Database.MaxIdleConns > 0 && c.Database.WarmConns > c.Database.MaxIdleConns) {
		bad("database.warm_conns", "must be between 0 and database.max_idle_conns (and max_open_conns)")
	}
	if c.Audit.ChainInterval <= 0 || c.Audit.ChainInterval > time.Minute {
		bad("audit.chain_interval", "must be a positive duration of at most 1m")
	}
	if c.HTTP.RateLimits.MaxClients < 1 {
		bad("http.rate_limits.max_clients", "must be at least 1")
	}
	loc, err := time.LoadLocation(c.TimeZone)
	if c.TimeZone == "" || err != nil {
		bad("time_zone", "must be an IANA time zone such as Asia/Shanghai")
	}
	c.location = loc
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		bad("log.level", "must be debug, info, warn or error")
	}
	if c.Log.Format != "json" && c.Log.Format != "text" {
		bad("log.format", "must be json or text")
	}
	for _, e := range c.Scheduler.EntryList() {
		key := "scheduler.entries." + e.Name
		if e.Name == "test_entry" {
			key = "scheduler.test_entry"
		}
		sched, err := cron.ParseStandard(e.Spec)
		if err != nil {
			bad(key, fmt.Sprintf("is not a cron spec (%v)", err))
		} else if sched.Next(time.Now()).IsZero() {
			bad(key, "never fires")
		}
	}
	if c.Worker.Concurrency < 1 {
		bad("worker.concurrency", "must be at least 1")
	}
	if a := c.Worker.MetricsAddr; a != "" {
		// Checked here so a typo stops start-up naming the key, not later as
		// a listen error.
		if !validListenAddr(a) {
			bad("worker.metrics_addr (INSPECTONCE_WORKER_METRICS_ADDR)", "must be host:port (e.g. :9091), or empty for none")
		}
	}
	if c.Demands.MaxWindowDays < 1 {
		bad("demands.max_window_days", "must be at least 1")
	}
	if c.Demands.MaxListTargets < 1 {
		bad("demands.max_list_targets", "must be at least 1")
	}
	if c.Planning.MaxHorizonDays < 1 || c.Planning.MaxHorizonDays > 366 {
		bad("planning.max_horizon_days", "must be between 1 and 366")
	}
	if c.Planning.WeeklyHorizonDays < 1 || c.Planning.WeeklyHorizonDays > c.Planning.MaxHorizonDays {
		bad("planning.weekly_horizon_days", "must be between 1 and planning.max_horizon_days")
	}
	for i, step := range c.Planning.ApprovalSteps {
		switch {
		case strings.TrimSpace(step) == "" || len(step) > 100:
			bad("planning.approval_steps", "each step is a name of 1 to 100 bytes")
		case slices.Contains(c.Planning.ApprovalSteps[:i], step):
			bad("planning.approval_steps", "step "+step+" is listed twice")
		}
	}
	switch c.Planning.Randomness {
	case "operator", "witness", "public":
	default:
		bad("planning.randomness", "must be operator, witness or public")
	}
	if c.Planning.Randomness != "operator" && (strings.TrimSpace(c.Planning.RandomnessSource) == "" || len(c.Planning.RandomnessSource) > 200 ||
		strings.ContainsAny(c.Planning.RandomnessSource, "\r\n")) {
		bad("planning.randomness_source", "names the value's source on one line of 1 to 200 bytes")
	}
	if !(c.Planning.ShiftJitter > 0 && c.Planning.ShiftJitter <= 1) {
		bad("planning.shift_jitter", "must be more than 0 and at most 1")
	}
	if c.Routine.AnnounceDays < 0 || c.Routine.AnnounceDays > 60 {
		bad("routine.announce_days", "must be between 0 and 60")
	}
	for k, p := range c.Routine.Priorities {
		switch {
		case k != "red" && k != "yellow" && k != "green":
			bad("routine.priorities."+k, "is not a risk code (red, yellow, green)")
		case p < 1 || p > 5:
			bad("routine.priorities."+k, "must be between 1 and 5")
		}
	}
	for code, d := range c.Risk.RoutineIntervalDays {
		if _, ok := c.Routine.Priorities[code]; d > 0 && !ok {
			bad("routine.priorities."+code, "is required: risk.routine_interval_days."+code+" is positive")
		}
	}
	if c.Import.BatchSize < 1 || c.Import.BatchSize > 10000 {
		bad("import.batch_size", "must be between 1 and 10000")
	}
	for _, code := range []string{"red", "yellow", "green"} {
		if w, ok := c.Risk.Weights[code]; !ok || w <= 0 {
			bad("risk.weights."+code, "must be a positive number")
		}
		if d, ok := c.Risk.RoutineIntervalDays[code]; !ok || d < 0 {
			bad("risk.routine_interval_days."+code, "must be zero or more")
		}
	}
	for k := range c.Risk.Weights {
		if k != "red" && k != "yellow" && k != "green" {
			bad("risk.weights."+k, "is not a risk code (red, yellow, green)")
		}
	}
	if err := c.Risk.Rule.Validate("risk.rule"); err != nil {
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			for _, e := range j.Unwrap() {
				errs = append(errs, fmt.Errorf("config: %w", e))
			}
		} else {
			errs = append(errs, fmt.Errorf("config: %w", err))
		}
	}
	for key, n := range map[string]int{
		"results.publish_within_working_days":      c.Results.PublishWithinWorkingDays,
		"results.redo_min_window_working_days":     c.Results.RedoMinWindowWorkingDays,
		"results.reinspection_window_working_days": c.Results.ReinspectionWindowWorkingDays,
	} {
		if n < 1 || n > 250 {
			bad(key, fmt.Sprintf("must be between 1 and 250 working days, got %d", n))
		}
	}
	if n := c.Results.MaxRectifyDays; n < 1 || n > 3660 {
		bad("results.max_rectify_days", fmt.Sprintf("must be between 1 and 3660 days, got %d", n))
	}
	for i, d := range c.Calendar.Holidays {
		if _, err := time.Parse(time.DateOnly, d); err != nil {
			bad(fmt.Sprintf("calendar.holidays[%d]", i), "must be a date YYYY-MM-DD")
		}
	}
	for i, d := range c.Calendar.WorkingWeekends {
		t, err := time.Parse(time.DateOnly, d)
		if err != nil {
			bad(fmt.Sprintf("calendar.working_weekends[%d]", i), "must be a date YYYY-MM-DD")
		} else if wd := t.Weekday(); wd != time.Saturday && wd != time.Sunday {
			bad(fmt.Sprintf("calendar.working_weekends[%d]", i), d+" is not a Saturday or Sunday")
		}
	}
	return errors.Join(errs...)
}
