package storetest

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// BackendCPU returns a function giving the CPU time the PostgreSQL backends
// of db's pool have used so far, read from /proc: for benchmarks that report
// PostgreSQL's share of a request next to the Go side's ns/op (issue 20).
// ok is false when the server's processes are not readable here (another
// machine, another container). Backends opened after the call are not
// counted: warm the pool first.
func BackendCPU(tb testing.TB, db *sql.DB) (cpu func() time.Duration, ok bool) {
	tb.Helper()
	rows, err := db.QueryContext(context.Background(),
		`SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND backend_type = 'client backend'`)
	if err != nil {
		tb.Fatalf("backend pids: %v", err)
	}
	defer rows.Close()
	var pids []int
	for rows.Next() {
		var pid int
		if err := rows.Scan(&pid); err != nil {
			tb.Fatal(err)
		}
		pids = append(pids, pid)
	}
	if err := rows.Err(); err != nil {
		tb.Fatal(err)
	}
	if len(pids) == 0 {
		return nil, false
	}
	if _, err := procCPU(pids[0]); err != nil {
		return nil, false
	}
	return func() time.Duration {
		var sum time.Duration
		for _, pid := range pids {
			d, _ := procCPU(pid) // a backend that has gone counts nothing more
			sum += d
		}
		return sum
	}, true
}

// procCPU is a process's user and system time from /proc/<pid>/stat, at
// the usual 100 ticks a second.
func procCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: no command", pid)
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: short", pid)
	}
	u, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("/proc/%d/stat: bad times", pid)
	}
	return time.Duration(u+st) * 10 * time.Millisecond, nil
}
