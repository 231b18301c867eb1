package netguard

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"testing"
)

func TestCheckAddr(t *testing.T) {
	for _, tc := range []struct {
		addr    string
		blocked bool
	}{
		{"127.0.0.1", true},
		{"127.255.0.9", true},
		{"10.1.2.3", true},
		{"172.16.0.1", true},
		{"172.31.255.255", true},
		{"192.168.1.1", true},
		{"169.254.169.254", true}, // cloud metadata
		{"100.64.0.1", true},
		{"100.127.255.255", true},
		{"0.0.0.0", true},
		{"::", true},
		{"::1", true},
		{"fe80::1", true},
		{"fd00::1", true},
		{"fc00::1", true},
		{"::ffff:127.0.0.1", true},
		{"::ffff:10.0.0.1", true},
		{"64:ff9b::a00:1", true}, // NAT64 of 10.0.0.1
		{"224.0.0.1", true},
		{"255.255.255.255", true},
		{"8.8.8.8", false},
		{"172.32.0.1", false},
		{"100.128.0.1", false},
		{"93.184.216.34", false},
		{"2606:2800:220:1::1", false},
		{"64:ff9b::808:808", false}, // NAT64 of 8.8.8.8
	} {
		err := CheckAddr(netip.MustParseAddr(tc.addr))
		if got := err != nil; got != tc.blocked {
			t.Errorf("CheckAddr(%s) = %v, want blocked %v", tc.addr, err, tc.blocked)
		}
		if err != nil && !errors.Is(err, ErrBlocked) {
			t.Errorf("CheckAddr(%s) error %v does not wrap ErrBlocked", tc.addr, err)
		}
	}
}

// fakeResolver answers every name with its addresses.
type fakeResolver map[string][]netip.Addr

func (f fakeResolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	if a, ok := f[host]; ok {
		return a, nil
	}
	return nil, errors.New("no such host")
}

func TestCheckURL(t *testing.T) {
	r := fakeResolver{
		"intranet.example": {netip.MustParseAddr("10.0.0.5")},
		"mixed.example":    {netip.MustParseAddr("8.8.8.8"), netip.MustParseAddr("127.0.0.1")},
		"public.example":   {netip.MustParseAddr("93.184.216.34")},
	}
	for _, tc := range []struct {
		url     string
		blocked bool
	}{
		{"http://127.0.0.1:8080/hook", true},
		{"http://[::1]/hook", true},
		{"http://localhost/hook", true},
		{"http://LOCALHOST./hook", true},
		{"http://api.localhost/hook", true},
		{"http://169.254.169.254/latest/meta-data", true},
		{"http://[::ffff:192.168.0.1]/", true},
		{"https://intranet.example/hook", true},
		{"https://mixed.example/hook", true},
		{"http:///nohost", true},
		{"https://public.example/hook", false},
		{"https://unresolvable.example/hook", false}, // judged at delivery
		{"https://8.8.8.8/hook", false},
	} {
		err := CheckURL(context.Background(), tc.url, r)
		if got := err != nil; got != tc.blocked {
			t.Errorf("CheckURL(%s) = %v, want blocked %v", tc.url, err, tc.blocked)
		}
	}
}

// TestTransportRefusesLoopback: a delivery to a receiver on loopback fails at
// the dial, whatever name the URL used for it.
func TestTransportRefusesLoopback(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	defer srv.Close()
	u, _ := url.Parse(srv.URL)
	client := &http.Client{Transport: Transport()}
	for _, target := range []string{srv.URL, "http://localhost:" + u.Port()} {
		res, err := client.Get(target)
		if err == nil {
			res.Body.Close()
			t.Fatalf("GET %s through the guarded transport succeeded", target)
		}
		if !errors.Is(err, ErrBlocked) {
			t.Fatalf("GET %s: %v, want ErrBlocked", target, err)
		}
	}
	// The plain client reaches it: the refusal is the guard's.
	res, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
}

// FuzzCheckURL: no input panics, and an IP-literal host that passes is not
// in a blocked range.
func FuzzCheckURL(f *testing.F) {
	for _, s := range []string{"http://127.0.0.1/", "http://[::1]/", "https://example.org/h", "http://0x7f.1/", "http://%00/", "http://[fe80::1%25eth0]/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		err := CheckURL(context.Background(), raw, fakeResolver{})
		u, perr := url.Parse(raw)
		if perr != nil {
			return
		}
		if a, aerr := netip.ParseAddr(u.Hostname()); aerr == nil && err == nil && CheckAddr(a) != nil {
			t.Fatalf("CheckURL(%q) passed a blocked address %s", raw, a)
		}
	})
}
