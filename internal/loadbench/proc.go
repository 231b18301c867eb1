package loadbench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// clockTicks is USER_HZ, the unit of /proc/<pid>/stat's times (100 on Linux).
const clockTicks = 100

// procTimes reads a process's own CPU time (utime+stime) and that of its
// waited-for children (cutime+cstime), and its parent's pid, from
// /proc/<pid>/stat.
func procTimes(pid int) (self, children time.Duration, ppid int, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0, 0, err
	}
	// The command name (field 2) is in parentheses and may hold spaces.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, 0, 0, fmt.Errorf("/proc/%d/stat: no command name", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	// f[0] is field 3 (state): field n is f[n-3].
	if len(f) < 15 {
		return 0, 0, 0, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(f)+2)
	}
	num := func(n int) int64 {
		v, _ := strconv.ParseInt(f[n-3], 10, 64)
		return v
	}
	tick := time.Second / clockTicks
	return time.Duration(num(14)+num(15)) * tick, time.Duration(num(16)+num(17)) * tick, int(num(4)), nil
}

// ProcessCPU is the CPU time used so far by process pid.
func ProcessCPU(pid int) (time.Duration, error) {
	self, _, _, err := procTimes(pid)
	return self, err
}

// TreeCPU is the CPU time used so far by process pid, its live children and
// its children that have exited (PostgreSQL: the postmaster, its backends,
// and the backends that are gone).
func TreeCPU(pid int) (time.Duration, error) {
	self, gone, _, err := procTimes(pid)
	if err != nil {
		return 0, err
	}
	total := self + gone
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return 0, err
	}
	for _, e := range entries {
		child, err := strconv.Atoi(e.Name())
		if err != nil || child == pid {
			continue
		}
		s, _, ppid, err := procTimes(child)
		if err != nil || ppid != pid {
			continue // gone meanwhile, or not ours
		}
		total += s
	}
	return total, nil
}

// PostmasterPID reads the PostgreSQL server's pid from its data directory.
func PostmasterPID(pgdata string) (int, error) {
	b, err := os.ReadFile(filepath.Join(pgdata, "postmaster.pid"))
	if err != nil {
		return 0, fmt.Errorf("postgres pid: %w", err)
	}
	line, _, _ := strings.Cut(string(b), "\n")
	pid, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil {
		return 0, fmt.Errorf("postgres pid in %s: %w", pgdata, err)
	}
	return pid, nil
}

// Pgbench runs pgbench on one database.
type Pgbench struct {
	// Bin is the pgbench binary.
	Bin string
	// Host, Port, User, DB say where.
	Host, Port, User, DB string
	// Clients and Threads: pgbench -c and -j.
	Clients, Threads int
}

var tpsRe = regexp.MustCompile(`tps = ([0-9.]+) \(without initial connection time\)`)

// Init creates pgbench's tables at scale (-i -s scale).
func (p Pgbench) Init(ctx context.Context, scale int) error {
	_, err := p.run(ctx, "-i", "-q", "-s", strconv.Itoa(scale))
	return err
}

// SelectOnly runs pgbench -S for d (-M prepared when prepared) and returns
// its TPS.
func (p Pgbench) SelectOnly(ctx context.Context, prepared bool, d time.Duration) (float64, error) {
	mode := "simple"
	if prepared {
		mode = "prepared"
	}
	secs := max(1, int(d.Round(time.Second)/time.Second))
	out, err := p.run(ctx, "-S", "-n", "-M", mode, "-c", strconv.Itoa(max(p.Clients, 1)), "-j", strconv.Itoa(max(p.Threads, 1)),
		"-T", strconv.Itoa(secs))
	if err != nil {
		return 0, err
	}
	m := tpsRe.FindStringSubmatch(out)
	if m == nil {
		return 0, fmt.Errorf("pgbench -S -M %s: no tps in its output:\n%s", mode, out)
	}
	return strconv.ParseFloat(m[1], 64)
}

func (p Pgbench) run(ctx context.Context, args ...string) (string, error) {
	all := append([]string{"-h", p.Host, "-p", p.Port, "-U", p.User}, args...)
	all = append(all, p.DB)
	cmd := exec.CommandContext(ctx, p.Bin, all...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) || ctx.Err() == nil {
			return out.String(), fmt.Errorf("%s %s: %w\n%s", filepath.Base(p.Bin), strings.Join(args, " "), err, out.String())
		}
		return out.String(), err
	}
	return out.String(), nil
}
