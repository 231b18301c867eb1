package planner

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The TSPLIB instances (EUC_2D) and their proven optima live outside the
// repository, in /work/shared/realdata/tsplib.
const tsplibDir = "../../shared/realdata/tsplib"

// tsplibKicks is the iterated-local-search budget (perturbations per node)
// of the configuration whose gaps the test asserts.
const tsplibKicks = 100

// tspInstance is a parsed TSPLIB EUC_2D instance.
type tspInstance struct {
	Name string
	X, Y []float64 // node i (0-based) is TSPLIB node i+1
}

// tspMaxDimension bounds DIMENSION so that hostile input cannot make the
// parser allocate without limit.
const tspMaxDimension = 1 << 20

// parseTSPLIB reads a TSPLIB file of TYPE TSP with EDGE_WEIGHT_TYPE EUC_2D:
// "KEY : VALUE" header lines, then NODE_COORD_SECTION with one "id x y" line
// per node (ids 1..DIMENSION, each once; coordinates may be floats in
// scientific notation), then optionally EOF.
func parseTSPLIB(r io.Reader) (*tspInstance, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	inst := &tspInstance{}
	dim := -1
	inCoords, sawEOF := false, false
	var seen []bool
	count := 0
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" {
			continue
		}
		if text == "EOF" {
			sawEOF = true
			break
		}
		if inCoords {
			f := strings.Fields(text)
			if len(f) != 3 {
				return nil, fmt.Errorf("line %d: want \"id x y\", got %q", line, text)
			}
			id, err := strconv.Atoi(f[0])
			if err != nil || id < 1 || id > dim {
				return nil, fmt.Errorf("line %d: bad node id %q", line, f[0])
			}
			x, errX := strconv.ParseFloat(f[1], 64)
			y, errY := strconv.ParseFloat(f[2], 64)
			if errX != nil || errY != nil || math.IsNaN(x) || math.IsNaN(y) || math.IsInf(x, 0) || math.IsInf(y, 0) {
				return nil, fmt.Errorf("line %d: bad coordinates %q", line, text)
			}
			if seen[id-1] {
				return nil, fmt.Errorf("line %d: node %d given twice", line, id)
			}
			seen[id-1] = true
			inst.X[id-1], inst.Y[id-1] = x, y
			count++
			continue
		}
		if text == "NODE_COORD_SECTION" {
			if dim < 0 {
				return nil, fmt.Errorf("line %d: NODE_COORD_SECTION before DIMENSION", line)
			}
			inCoords = true
			seen = make([]bool, dim)
			inst.X, inst.Y = make([]float64, dim), make([]float64, dim)
			continue
		}
		key, val, ok := strings.Cut(text, ":")
		if !ok {
			return nil, fmt.Errorf("line %d: want \"KEY : VALUE\", got %q", line, text)
		}
		key, val = strings.TrimSpace(key), strings.TrimSpace(val)
		switch key {
		case "NAME":
			inst.Name = val
		case "TYPE":
			if val != "TSP" {
				return nil, fmt.Errorf("line %d: TYPE %q, want TSP", line, val)
			}
		case "DIMENSION":
			n, err := strconv.Atoi(val)
			if err != nil || n < 1 || n > tspMaxDimension {
				return nil, fmt.Errorf("line %d: bad DIMENSION %q", line, val)
			}
			if dim >= 0 {
				return nil, fmt.Errorf("line %d: DIMENSION given twice", line)
			}
			dim = n
		case "EDGE_WEIGHT_TYPE":
			if val != "EUC_2D" {
				return nil, fmt.Errorf("line %d: EDGE_WEIGHT_TYPE %q, want EUC_2D", line, val)
			}
		case "COMMENT":
		default:
			return nil, fmt.Errorf("line %d: unsupported key %q", line, key)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if !inCoords {
		return nil, errors.New("no NODE_COORD_SECTION")
	}
	if count != dim {
		return nil, fmt.Errorf("%d of %d nodes given", count, dim)
	}
	_ = sawEOF // EOF is optional
	return inst, nil
}

// euc2D is the TSPLIB EUC_2D distance: the Euclidean distance rounded to the
// nearest integer, nint(sqrt(dx²+dy²)).
func (in *tspInstance) euc2D(i, j int) float64 {
	dx, dy := in.X[i]-in.X[j], in.Y[i]-in.Y[j]
	return math.Floor(math.Sqrt(dx*dx+dy*dy) + 0.5)
}

// parseOptima reads lines "name : length".
func parseOptima(r io.Reader) (map[string]float64, error) {
	out := map[string]float64{}
	sc := bufio.NewScanner(r)
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		name, val, ok := strings.Cut(text, ":")
		if !ok {
			return nil, fmt.Errorf("line %d: want \"name : length\", got %q", line, text)
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(val), 64)
		if err != nil || !(v > 0) {
			return nil, fmt.Errorf("line %d: bad length %q", line, val)
		}
		out[strings.TrimSpace(name)] = v
	}
	return out, sc.Err()
}

// checkTSPTour fails unless tour is a permutation of 0..n-1 starting at 0.
func checkTSPTour(t *testing.T, name string, tour []int, n int) {
	t.Helper()
	if len(tour) != n || (n > 0 && tour[0] != 0) {
		t.Fatalf("%s: tour of length %d starting %v, want %d nodes from 0", name, len(tour), tour[:min(1, len(tour))], n)
	}
	seen := make([]bool, n)
	for _, v := range tour {
		if v < 0 || v >= n || seen[v] {
			t.Fatalf("%s: tour is not a permutation (node %d)", name, v)
		}
		seen[v] = true
	}
}

func tspClosedLength(tour []int, dist func(i, j int) float64) float64 {
	sum := 0.0
	for k := range tour {
		sum += dist(tour[k], tour[(k+1)%len(tour)])
	}
	return sum
}

func TestTSPLIB(t *testing.T) {
	if _, err := os.Stat(tsplibDir); errors.Is(err, os.ErrNotExist) {
		t.Skipf("%s not found", tsplibDir)
	}
	of, err := os.Open(filepath.Join(tsplibDir, "optima.txt"))
	if err != nil {
		t.Fatal(err)
	}
	optima, err := parseOptima(of)
	of.Close()
	if err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob(filepath.Join(tsplibDir, "*.tsp"))
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(files)
	if len(files) == 0 {
		t.Fatal("no .tsp files")
	}
	t.Logf("tuned = nearest neighbour + 2-opt/Or-opt + %d double-bridge kicks per node (seed 1); plain = Route's configuration (%d kicks per node)", tsplibKicks, routeKicksPerNode)
	t.Logf("%-10s %5s %8s %8s %7s %8s %8s %7s", "instance", "n", "optimum", "tuned", "gap%", "time", "plain", "gap%")
	var sumTuned, sumPlain float64
	for _, file := range files {
		f, err := os.Open(file)
		if err != nil {
			t.Fatal(err)
		}
		inst, err := parseTSPLIB(f)
		f.Close()
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		opt, ok := optima[inst.Name]
		if !ok {
			t.Fatalf("%s: no optimum for %q in optima.txt", file, inst.Name)
		}
		n := len(inst.X)
		start := time.Now()
		tuned := solveTourWith(n, inst.euc2D, nil, solveTourOpts{kicks: tsplibKicks * n, seed: 1})
		elapsed := time.Since(start)
		plain := solveTourWith(n, inst.euc2D, nil, routeOpts(n))
		checkTSPTour(t, inst.Name, tuned, n)
		checkTSPTour(t, inst.Name, plain, n)
		lt, lp := tspClosedLength(tuned, inst.euc2D), tspClosedLength(plain, inst.euc2D)
		if lt < opt || lp < opt {
			t.Errorf("%s: tour %v / %v shorter than the proven optimum %v", inst.Name, lt, lp, opt)
		}
		if lt > lp {
			t.Errorf("%s: tuned tour %v longer than plain %v", inst.Name, lt, lp)
		}
		gt, gp := 100*(lt-opt)/opt, 100*(lp-opt)/opt
		sumTuned += gt
		sumPlain += gp
		t.Logf("%-10s %5d %8.0f %8.0f %7.2f %8s %8.0f %7.2f", inst.Name, n, opt, lt, gt, elapsed.Round(time.Millisecond), lp, gp)
		if gt >= 10 {
			t.Errorf("%s: gap %.2f%% ≥ 10%%", inst.Name, gt)
		}
	}
	mt, mp := sumTuned/float64(len(files)), sumPlain/float64(len(files))
	t.Logf("%-10s %5s %8s %8s %7.2f %8s %8s %7.2f", "mean", "", "", "", mt, "", "", mp)
	if mt >= 5 {
		t.Errorf("mean gap %.2f%% ≥ 5%%", mt)
	}
	// The configuration plans actually use must reach the target too.
	if mp >= 5 {
		t.Errorf("Route's mean gap %.2f%% ≥ 5%%", mp)
	}
}

func TestParseTSPLIB(t *testing.T) {
	good := "NAME : tiny\nCOMMENT : x\nTYPE: TSP\nDIMENSION : 3\nEDGE_WEIGHT_TYPE : EUC_2D\nNODE_COORD_SECTION\n1 0 0\n3 3.0e+00 4\n 2 1.5 -2e1\nEOF\n"
	in, err := parseTSPLIB(strings.NewReader(good))
	if err != nil {
		t.Fatal(err)
	}
	if in.Name != "tiny" || len(in.X) != 3 || in.X[2] != 3 || in.Y[1] != -20 || in.euc2D(0, 2) != 5 {
		t.Fatalf("parsed %+v", in)
	}
	bad := []string{
		"",
		"NAME: x\n",
		"NODE_COORD_SECTION\n1 0 0\n",
		"DIMENSION: 2\nNODE_COORD_SECTION\n1 0 0\nEOF\n",
		"DIMENSION: 2\nNODE_COORD_SECTION\n1 0 0\n1 1 1\n",
		"DIMENSION: 2\nNODE_COORD_SECTION\n1 0 0\n3 1 1\n",
		"DIMENSION: 1\nNODE_COORD_SECTION\n1 NaN 0\n",
		"DIMENSION: 1\nNODE_COORD_SECTION\n1 0\n",
		"DIMENSION: -1\n",
		"DIMENSION: 1\nEDGE_WEIGHT_TYPE: GEO\n",
		"TYPE: ATSP\n",
		"garbage\n",
	}
	for _, b := range bad {
		if _, err := parseTSPLIB(strings.NewReader(b)); err == nil {
			t.Errorf("parseTSPLIB(%q) succeeded, want an error", b)
		}
	}
}

func FuzzParseTSPLIB(f *testing.F) {
	f.Add([]byte("NAME : tiny\nTYPE : TSP\nDIMENSION : 3\nEDGE_WEIGHT_TYPE : EUC_2D\nNODE_COORD_SECTION\n1 0 0\n2 3e0 4\n3 1.5 -2\nEOF\n"))
	f.Add([]byte("DIMENSION: 2\nNODE_COORD_SECTION\n1 0 0\n1 1 1\n"))
	f.Add([]byte("DIMENSION: 99999999999\n"))
	if b, err := os.ReadFile(filepath.Join(tsplibDir, "berlin52.tsp")); err == nil {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		in, err := parseTSPLIB(bytes.NewReader(data))
		if err != nil {
			return
		}
		n := len(in.X)
		if n == 0 || len(in.Y) != n {
			t.Fatalf("parsed %d/%d coordinates", len(in.X), len(in.Y))
		}
		if n <= 12 {
			checkTSPTour(t, "fuzz", solveTour(n, in.euc2D, nil), n)
		}
	})
}
