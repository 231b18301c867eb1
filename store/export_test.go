package store

import "time"

// SetTokenClock makes s's token cache read the time from now (tests of the
// TTL).
func SetTokenClock(s *Store, now func() time.Time) {
	s.tokens.mu.Lock()
	defer s.tokens.mu.Unlock()
	s.tokens.now = now
}

// TokenListening reports whether s's revocation listener is LISTENing.
func TokenListening(s *Store) bool { return s.tokens.listening.Load() }

// StallScans gives s a scan buffer of n that no writer drains (tests of a
// full buffer).
func StallScans(s *Store, n int) {
	r := newScanRecorder(s)
	r.ch = make(chan scanEvent, n)
	r.started, r.done = true, make(chan struct{})
	r.cancel = func() { close(r.done) }
	s.scans = r
}

// SetReadCacheClock makes s's read cache read the time from now (tests of
// entry age and pruning).
func SetReadCacheClock(s *Store, now func() time.Time) {
	s.reads.mu.Lock()
	defer s.reads.mu.Unlock()
	s.reads.now = now
}

// ReadCachePruning reports whether s's read cache is pruning now.
func ReadCachePruning(s *Store) bool { return s.reads.pruning.Load() }

// MissingBusinessesSQL is the statement that finds a demand's unregistered
// businesses (tests of its plan).
const MissingBusinessesSQL = missingBusinessesSQL
