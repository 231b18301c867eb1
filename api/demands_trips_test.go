package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"inspectonce/calendar"
	"inspectonce/configs"
	"inspectonce/store"
	"inspectonce/store/storetest"
)

// tripCounter is a TCP proxy in front of the test PostgreSQL that counts
// round trips: each time a client sends after the server last spoke is one.
type tripCounter struct {
	l     net.Listener
	trips atomic.Int64
	wg    sync.WaitGroup
}

func newTripCounter(t *testing.T, target string) *tripCounter {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tc := &tripCounter{l: l}
	tc.wg.Add(1)
	go func() {
		defer tc.wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			var serverSpoke atomic.Bool
			serverSpoke.Store(true)
			pipe := func(dst, src net.Conn, fromClient bool) {
				defer dst.Close()
				buf := make([]byte, 64<<10)
				for {
					n, err := src.Read(buf)
					if n > 0 {
						if fromClient {
							if serverSpoke.Swap(false) {
								tc.trips.Add(1)
							}
						} else {
							serverSpoke.Store(true)
						}
						if _, werr := dst.Write(buf[:n]); werr != nil {
							return
						}
					}
					if err != nil {
						return
					}
				}
			}
			go pipe(s, c, true)
			go pipe(c, s, false)
		}
	}()
	t.Cleanup(func() { l.Close(); tc.wg.Wait() })
	return tc
}

// TestDemandSubmissionRoundTrips: an accepted list demand with an
// Idempotency-Key costs PostgreSQL one round trip (one statement checks the
// registries and stores the demand, its key and its audit row), not one per
// statement of a transaction (issue 20: it made eleven).
func TestDemandSubmissionRoundTrips(t *testing.T) {
	v := newEnv(t)
	var db string
	if err := v.st.SQL().QueryRow(`SELECT current_database()`).Scan(&db); err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(os.Getenv(storetest.EnvDatabaseURL))
	if err != nil {
		t.Fatal(err)
	}
	tc := newTripCounter(t, u.Host)
	u.Host, u.Path = tc.l.Addr().String(), "/"+db
	// One connection, so that its statements are prepared once.
	st, err := store.Open(u.String(), store.Options{MaxOpenConns: 1, MaxIdleConns: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	cfg, err := configs.Load("", []string{"INSPECTONCE_PLANNING_APPROVAL_STEPS="})
	if err != nil {
		t.Fatal(err)
	}
	cal, err := calendar.New(cfg.Calendar.Holidays, cfg.Calendar.WorkingWeekends)
	if err != nil {
		t.Fatal(err)
	}
	e := New(Options{Store: st, Config: cfg, Calendar: cal, Now: func() time.Time { return testToday },
		Logger: slog.New(slog.DiscardHandler)})
	submit := func(i int) {
		t.Helper()
		body, err := json.Marshal(v.demandBody(func(m map[string]any) { m["title"] = fmt.Sprintf("往返 %d", i) }))
		if err != nil {
			t.Fatal(err)
		}
		req := httptest.NewRequest(http.MethodPost, "/api/v1/demands", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+v.tokens["planner"])
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set(IdempotencyHeader, fmt.Sprintf("trips-%d", i))
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, req)
		if rec.Code != http.StatusCreated {
			t.Fatalf("demand %d: %d %s", i, rec.Code, rec.Body)
		}
	}
	// The first connects, checks the token and prepares the statements.
	submit(0)
	// The least of a few: the pool pings a connection idle for over a
	// second before handing it out again, which a slow machine may see.
	least := int64(-1)
	for i := 1; i <= 5; i++ {
		before := tc.trips.Load()
		submit(i)
		if n := tc.trips.Load() - before; least < 0 || n < least {
			least = n
		}
	}
	if least > 1 {
		t.Errorf("an accepted demand made %d round trips to PostgreSQL, want 1", least)
	}
}

// TestSubmittedDemandAnswersAsRead: the answer to POST /api/v1/demands (built
// from what was written, not read back) is the demand as GET gives it, for a
// list and a sample demand, and its audit row is the one it always was.
func TestSubmittedDemandAnswersAsRead(t *testing.T) {
	v := newEnv(t)
	for _, c := range []struct {
		name, who string
		body      map[string]any
	}{
		{"list", "planner", v.demandBody(func(m map[string]any) {
			m["businesses"] = []string{v.bizB.USCC, v.bizA.USCC}
		})},
		{"sample", "admin", map[string]any{
			"department_id": v.deptB.ID, "title": "消防抽查", "item_ids": []int64{v.itemB.ID},
			"sample": map[string]any{"region_ids": []int64{v.town.ID}, "industry_codes": []string{"H621", "H611"},
				"risk_codes": []string{"red", "yellow"}, "ratio": 0.05, "scenario_id": v.scenario.ID},
			"window": map[string]string{"from": "2026-12-01", "to": "2027-02-26"}, "source": "campaign", "priority": 1,
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := v.do(c.who, "POST", "/api/v1/demands", c.body, "Idempotency-Key", "as-read-"+c.name)
			expect(t, r, 201, "submit")
			var posted map[string]any
			r.json(t, &posted)
			loc := r.Header.Get("Location")
			got := v.do(c.who, "GET", loc, nil)
			expect(t, got, 200, "read")
			var read map[string]any
			got.json(t, &read)
			pb, _ := json.Marshal(posted)
			rb, _ := json.Marshal(read)
			if !bytes.Equal(pb, rb) {
				t.Errorf("POST answered\n%s\nGET answers\n%s", pb, rb)
			}
			// A retry answers the same demand, read back.
			again := v.do(c.who, "POST", "/api/v1/demands", c.body, "Idempotency-Key", "as-read-"+c.name)
			expect(t, again, 201, "retry")
			var replayed map[string]any
			again.json(t, &replayed)
			ab, _ := json.Marshal(replayed)
			if !bytes.Equal(ab, rb) || again.Header.Get("Idempotent-Replayed") != "true" {
				t.Errorf("retry answered (replayed=%q)\n%s\nwant\n%s", again.Header.Get("Idempotent-Replayed"), ab, rb)
			}
			id := int64(posted["id"].(float64))
			entries, err := v.st.ListAudit(t.Context(), 0, 1000)
			if err != nil {
				t.Fatal(err)
			}
			var found []string
			for _, en := range entries {
				if en.Action == "demand.submit" && en.Object == fmt.Sprintf("demand/%d", id) {
					found = append(found, en.Actor+" "+en.Outcome+" "+en.Detail)
				}
			}
			items, _ := json.Marshal(posted["item_ids"])
			want := fmt.Sprintf(`%s ok {"department_id":%v,"items":%s,"source":"%v","target_kind":"%v"}`,
				posted["created_by"], posted["department_id"], items, posted["source"], posted["target_kind"])
			if len(found) != 1 || found[0] != want {
				t.Errorf("audit rows of demand %d: %q, want [%q]", id, found, want)
			}
		})
	}
}

// TestAssumedChecksAnswerAsEver: a list demand is checked assuming the
// registries hold what it names, and the statement storing it checks that.
// When they do not, the answer is the one the checks against the registries
// always gave (every field, in order), nothing is stored, and the
// Idempotency-Key is not used up.
func TestAssumedChecksAnswerAsEver(t *testing.T) {
	v := newEnv(t)
	unregistered := mustUSCC(t, 77)
	type fe struct{ Field, Reason string }
	for _, c := range []struct {
		name, who string
		mod       func(m map[string]any)
		want      []fe
	}{
		{"unregistered business", "planner", func(m map[string]any) {
			m["businesses"] = []string{v.bizA.USCC, unregistered}
		}, []fe{{"businesses", "not registered: " + unregistered}}},
		{"item of another department", "planner", func(m map[string]any) {
			m["item_ids"] = []int64{v.itemA.ID, v.itemB.ID}
		}, []fe{{"item_ids[1]", fmt.Sprintf("item %d belongs to another department; a demand names only its own department's items", v.itemB.ID)}}},
		{"no such item", "planner", func(m map[string]any) {
			m["item_ids"] = []int64{99999}
		}, []fe{{"item_ids[0]", "item 99999 does not exist"}}},
		{"no such department", "admin", func(m map[string]any) {
			m["department_id"] = 99999
		}, []fe{{"department_id", "department 99999 does not exist"},
			{"item_ids[0]", fmt.Sprintf("item %d belongs to another department; a demand names only its own department's items", v.itemA.ID)}}},
		{"every fault at once", "planner", func(m map[string]any) {
			m["priority"] = 9
			m["item_ids"] = []int64{v.itemB.ID, 99999}
			m["businesses"] = []string{unregistered}
		}, []fe{{"priority", "must be between 1 (highest) and 5, got 9"},
			{"item_ids[0]", fmt.Sprintf("item %d belongs to another department; a demand names only its own department's items", v.itemB.ID)},
			{"item_ids[1]", "item 99999 does not exist"},
			{"businesses", "not registered: " + unregistered}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			before := v.counts()
			key := "assumed-" + c.name
			r := v.do(c.who, "POST", "/api/v1/demands", v.demandBody(c.mod), "Idempotency-Key", key)
			expect(t, r, 422, "refused")
			var got []fe
			for _, e := range r.problem(t).Errors {
				got = append(got, fe{e.Field, e.Reason})
			}
			if fmt.Sprint(got) != fmt.Sprint(c.want) {
				t.Errorf("errors %v\nwant %v", got, c.want)
			}
			if after := v.counts(); after != before {
				t.Errorf("a refused demand changed the counts: %v, then %v", before, after)
			}
			// The key was not used up: a good request under it is stored.
			ok := v.do(c.who, "POST", "/api/v1/demands", v.demandBody(func(m map[string]any) {
				if c.who == "admin" {
					m["department_id"] = v.deptA.ID
				}
			}), "Idempotency-Key", key)
			expect(t, ok, 201, "the key's first good request")
			if ok.Header.Get("Idempotent-Replayed") != "" {
				t.Errorf("the key's first good request was answered as a replay")
			}
		})
	}
}
