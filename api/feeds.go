package api

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"inspectonce/calfeed"
	"inspectonce/domain"
	"inspectonce/store"
)

// A staff feed (team, inspector) covers the visits from this many days back
// to this many days ahead: enough history to look up last month's visits,
// and every published plan (a quarter at most) ahead.
const (
	feedDaysBack  = 30
	feedDaysAhead = 120
)

// feedAnswer is the answer of a feed rotation. The secret is shown once: the
// server keeps only its hash, and the previous URL of the feed stops working.
type feedAnswer struct {
	// URL is the feed's path on this service (/feeds/<secret>.ics), to put
	// after the service's public address in a calendar app.
	URL     string `json:"url"`
	Secret  string `json:"secret"`
	Kind    string `json:"kind"`
	Subject string `json:"subject"`
}

func feedPath(secret string) string { return "/feeds/" + secret + ".ics" }

// rotateFeed makes a new secret URL for the feed of (kind, subject) and
// answers it.
func (s *Server) rotateFeed(c echo.Context, p domain.Principal, kind, subject string) error {
	secret, err := s.store.RotateFeedToken(c.Request().Context(), p.Actor(), kind, subject)
	if err != nil {
		return err
	}
	// The answer holds a credential: no cache may keep it.
	c.Response().Header().Set(echo.HeaderCacheControl, "no-store")
	return c.JSON(http.StatusCreated, feedAnswer{URL: feedPath(secret), Secret: secret, Kind: kind, Subject: subject})
}

// rotateBusinessFeed is POST /api/v1/businesses/{uscc}/feed: a business its
// own feed, an admin any business's.
func (s *Server) rotateBusinessFeed(c echo.Context) error {
	code := c.Param("uscc")
	p, err := ownBusiness(c, "make calendar feeds of businesses", code)
	if err != nil {
		return err
	}
	return s.rotateFeed(c, p, store.FeedBusiness, code)
}

// rotateTeamFeed is POST /api/v1/teams/{id}/feed: a team leader its own
// team's feed, an admin any team's. Another team is 404, as if it did not
// exist.
func (s *Server) rotateTeamFeed(c echo.Context) error {
	p, err := allow(c, "make calendar feeds of teams", domain.RoleAdmin, domain.RoleTeamLeader)
	if err != nil {
		return err
	}
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	if !p.LeadsTeam(id) {
		return fmt.Errorf("team %d: %w", id, domain.ErrNotFound)
	}
	return s.rotateFeed(c, p, store.FeedTeam, strconv.FormatInt(id, 10))
}

// rotateInspectorFeed is POST /api/v1/inspectors/{id}/feed: an inspector its
// own feed, an admin any inspector's. Another inspector is 404.
func (s *Server) rotateInspectorFeed(c echo.Context) error {
	p, err := allow(c, "make calendar feeds of inspectors", domain.RoleAdmin, domain.RoleInspector)
	if err != nil {
		return err
	}
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	if !p.ActsForInspector(id) {
		return fmt.Errorf("inspector %d: %w", id, domain.ErrNotFound)
	}
	return s.rotateFeed(c, p, store.FeedInspector, strconv.FormatInt(id, 10))
}

// getFeed is GET /feeds/{secret}.ics, the calendar feed a secret URL names.
// Calendar apps cannot send a bearer token, so the route is outside the
// authenticated group and the secret is the credential: an unknown or revoked
// one is 404. A business feed is the business's schedule (unannounced visits
// only once past, like the JSON schedule); a team or inspector feed holds
// every visit from feedDaysBack days ago to feedDaysAhead days ahead.
func (s *Server) getFeed(c echo.Context) error {
	notFound := fmt.Errorf("calendar feed: %w", domain.ErrNotFound)
	secret, ok := strings.CutSuffix(c.Param("file"), ".ics")
	if !ok {
		return notFound
	}
	ctx := c.Request().Context()
	kind, subject, err := s.store.ResolveFeedToken(ctx, secret)
	if err != nil {
		return err
	}
	cal, err := s.feedCalendar(ctx, kind, subject)
	if err != nil {
		return err
	}
	var b bytes.Buffer
	if err := calfeed.Encode(&b, cal); err != nil {
		return err
	}
	h := c.Response().Header()
	// Private data under a secret URL: shared caches must not keep it, and
	// apps poll it (REFRESH-INTERVAL) rather than rely on a cached copy.
	h.Set(echo.HeaderCacheControl, "private, no-cache")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Robots-Tag", "noindex")
	return c.Blob(http.StatusOK, "text/calendar; charset=utf-8", b.Bytes())
}

// feedCalendar reads the feed of (kind, subject) as it stands now.
func (s *Server) feedCalendar(ctx context.Context, kind, subject string) (calfeed.Calendar, error) {
	now, loc := s.now(), s.cfg.Location()
	if kind == store.FeedBusiness {
		sched, err := s.store.BusinessSchedule(ctx, subject, now, loc)
		if err != nil {
			return calfeed.Calendar{}, err
		}
		return calfeed.Business(sched, loc, now)
	}
	id, err := strconv.ParseInt(subject, 10, 64)
	if err != nil {
		return calfeed.Calendar{}, fmt.Errorf("feed of %s %q: %w", kind, subject, err)
	}
	day := s.today()
	from, to := day.AddDate(0, 0, -feedDaysBack), day.AddDate(0, 0, feedDaysAhead)
	var sc store.StaffCalendar
	switch kind {
	case store.FeedTeam:
		sc, err = s.store.TeamCalendar(ctx, id, from, to)
	case store.FeedInspector:
		sc, err = s.store.InspectorCalendar(ctx, id, from, to)
	default:
		err = fmt.Errorf("feed of unknown kind %q", kind)
	}
	if err != nil {
		return calfeed.Calendar{}, err
	}
	return calfeed.Staff(sc, loc, now)
}

// redactFeedSecret keeps feed secrets out of the request log: the secret in
// the path is a credential, and the log middleware writes the request path
// once the handler has returned.
func redactFeedSecret(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		err := next(c)
		u := *c.Request().URL
		u.Path, u.RawPath = "/feeds/[redacted].ics", ""
		c.Request().URL = &u
		return err
	}
}
