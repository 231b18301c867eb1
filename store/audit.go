package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"gorm.io/gorm"
)

// auditLockKey is the sequencer's lock (pg_advisory_xact_lock): one chaining
// pass at a time, across every replica. Writers never take it.
const auditLockKey = 7_310_001

// AuditEntry is one record of the append-only audit log.
type AuditEntry struct {
	// ID is the row's identity from its insertion; Seq its place in the chain.
	ID       int64     `json:"-"`
	Seq      int64     `json:"seq"`
	At       time.Time `json:"at"`
	Actor    string    `json:"actor"`
	Action   string    `json:"action"`
	Object   string    `json:"object"`
	Outcome  string    `json:"outcome"`
	Detail   string    `json:"detail"`
	PrevHash []byte    `json:"prev_hash"`
	Hash     []byte    `json:"hash"`
}

func (AuditEntry) TableName() string { return "audit_log" }

// Audit outcomes.
const (
	OutcomeOK       = "ok"
	OutcomeRejected = "rejected"
)

// hashEntry chains an entry to its predecessor. Every field that tells who did
// what goes in, separated so that no two different entries share an input.
func hashEntry(e *AuditEntry) []byte {
	h := sha256.New()
	h.Write(e.PrevHash)
	for _, f := range []string{
		strconv.FormatInt(e.Seq, 10), e.At.UTC().Format(time.RFC3339Nano),
		e.Actor, e.Action, e.Object, e.Outcome, e.Detail,
	} {
		h.Write([]byte(strconv.Itoa(len(f))))
		h.Write([]byte{':'})
		h.Write([]byte(f))
	}
	return h.Sum(nil)
}

// auditDetail is the detail as stored: a JSON document, "{}" for none.
func auditDetail(detail any) (string, error) {
	if detail == nil {
		return "{}", nil
	}
	b, err := json.Marshal(detail)
	if err != nil {
		return "", fmt.Errorf("audit detail: %w", err)
	}
	return string(b), nil
}

// auditNow is an entry's time, at the precision Postgres keeps, so that the
// hash computed from the stored row is the one of the entry.
func auditNow() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

// appendAudit adds an unchained entry inside tx: it commits or rolls back with
// the change it records. No lock is taken; the sequencer (ChainAudit) gives it
// its place in the chain once it has committed.
func appendAudit(tx *gorm.DB, actor, action, object, outcome string, detail any) error {
	d, err := auditDetail(detail)
	if err != nil {
		return err
	}
	if err := tx.Exec(`INSERT INTO audit_log (at, actor, action, object, outcome, detail) VALUES (?, ?, ?, ?, ?, ?)`, auditNow(), actor, action, object, outcome, d).Error; err != nil {
		return fmt.Errorf("audit append: %w", err)
	}
	return nil
}

// Audit appends an entry in its own transaction, for outcomes that change
// nothing else (a rejected write, a token issued from the command line).
func (s *Store) Audit(ctx context.Context, actor, action, object, outcome string, detail any) error {
	return s.tx(ctx, func(tx *gorm.DB) error {
		return appendAudit(tx, actor, action, object, outcome, detail)
	})
}

// AuditBreak describes the first record where the chain does not hold.
type AuditBreak struct {
	Seq    int64
	Reason string
}

// auditChainBatch bounds the rows one statement of a chaining pass reads.
const auditChainBatch = 1000

// ChainAudit is the sequencer: it gives every committed, unchained audit row
// the next place in the chain (seq, prev_hash, hash), oldest insertion first,
// and returns how many it chained. One pass runs at a time across all
// replicas, in a transaction holding the sequencer's advisory lock. With wait
// false a pass already running elsewhere makes this one return 0 at once (the
// background loop); with wait true it waits for that pass and then chains
// what is left (verification, listing).
//
// Rows can commit out of insertion order; a row is chained only once its
// transaction has committed (it is invisible before), and its seq is taken at
// chain time, so a late commit gets a later seq and no gap is ever left.
func (s *Store) ChainAudit(ctx context.Context, wait bool) (int, error) {
	total := 0
	for {
		n, err := s.chainPass(ctx, wait)
		total += n
		// A full pass commits and the next one goes on, so a backlog (after
		// an outage) never makes one long transaction.
		if err != nil || n < auditPassMax {
			return total, err
		}
	}
}

// auditPassMax bounds the rows one chaining transaction takes.
const auditPassMax = 20 * auditChainBatch

// chainPass is one chaining transaction of ChainAudit, of at most
// auditPassMax rows.
func (s *Store) chainPass(ctx context.Context, wait bool) (int, error) {
	var chained int
	err := s.bulk(ctx, "chain audit log", func(tx pgx.Tx) error {
		chained = 0
		if wait {
			if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(auditLockKey)); err != nil {
				return fmt.Errorf("audit sequencer lock: %w", err)
			}
		} else {
			var got bool
			if err := tx.QueryRow(ctx, `SELECT pg_try_advisory_xact_lock($1)`, int64(auditLockKey)).Scan(&got); err != nil {
				return fmt.Errorf("audit sequencer lock: %w", err)
			}
			if !got {
				return nil
			}
		}
		// Read after the lock: the last pass has committed, so its head shows.
		var seq int64
		prev := make([]byte, sha256.Size)
		err := tx.QueryRow(ctx, `SELECT seq, hash FROM audit_log WHERE seq IS NOT NULL ORDER BY seq DESC LIMIT 1`).Scan(&seq, &prev)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("audit head: %w", err)
		}
		for {
			rows, err := tx.Query(ctx, `SELECT id, at, actor, action, object, outcome, detail FROM audit_log
				WHERE seq IS NULL ORDER BY id LIMIT $1`, auditChainBatch)
			if err != nil {
				return fmt.Errorf("read unchained audit rows: %w", err)
			}
			var (
				ids, seqs     []int64
				prevs, hashes [][]byte
			)
			for rows.Next() {
				var e AuditEntry
				if err := rows.Scan(&e.ID, &e.At, &e.Actor, &e.Action, &e.Object, &e.Outcome, &e.Detail); err != nil {
					rows.Close()
					return fmt.Errorf("read unchained audit rows: %w", err)
				}
				seq++
				e.Seq, e.PrevHash = seq, prev
				e.Hash = hashEntry(&e)
				ids, seqs, prevs, hashes = append(ids, e.ID), append(seqs, e.Seq), append(prevs, e.PrevHash), append(hashes, e.Hash)
				prev = e.Hash
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return fmt.Errorf("read unchained audit rows: %w", err)
			}
			if len(ids) == 0 {
				return nil
			}
			tag, err := tx.Exec(ctx, `UPDATE audit_log a SET seq = v.seq, prev_hash = v.prev_hash, hash = v.hash
				FROM unnest($1::bigint[], $2::bigint[], $3::bytea[], $4::bytea[]) AS v (id, seq, prev_hash, hash)
				WHERE a.id = v.id AND a.seq IS NULL`, ids, seqs, prevs, hashes)
			if err != nil {
				return fmt.Errorf("chain audit rows: %w", err)
			}
			if tag.RowsAffected() != int64(len(ids)) {
				return fmt.Errorf("chain audit rows: %d of %d rows chained", tag.RowsAffected(), len(ids))
			}
			chained += len(ids)
			if len(ids) < auditChainBatch || chained >= auditPassMax {
				return nil
			}
		}
	})
	return chained, err
}

// RunAuditSequencer chains the audit log every interval until ctx ends. Every
// process may run it: the passes of several replicas take turns on the lock.
// A failed pass is logged and retried at the next tick.
func (s *Store) RunAuditSequencer(ctx context.Context, interval time.Duration, log *slog.Logger) error {
	if interval <= 0 {
		return fmt.Errorf("audit sequencer: interval %v is not positive", interval)
	}
	if log == nil {
		log = slog.Default()
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		if _, err := s.ChainAudit(ctx, false); err != nil && ctx.Err() == nil {
			log.WarnContext(ctx, "audit sequencer pass failed", "err", err)
		}
	}
}

// AuditLag is what the sequencer has still to chain: committed rows that have
// no place in the chain yet, and the age of the oldest.
type AuditLag struct {
	Pending int64
	Oldest  time.Duration
}

// AuditLag reads the sequencer's lag now.
func (s *Store) AuditLag(ctx context.Context) (AuditLag, error) {
	var r struct {
		N   int64
		Age float64
	}
	err := s.db.WithContext(ctx).Raw(`SELECT count(*) AS n,
		coalesce(extract(epoch FROM clock_timestamp() - min(at)), 0)::float8 AS age
		FROM audit_log WHERE seq IS NULL`).Scan(&r).Error
	if err != nil {
		return AuditLag{}, translate(err, "audit lag")
	}
	return AuditLag{Pending: r.N, Oldest: time.Duration(max(r.Age, 0) * float64(time.Second))}, nil
}

// VerifyAudit chains what has committed (ChainAudit, waiting for a pass
// running elsewhere), then walks the whole chain in order and returns the
// number of records checked and the first break, or nil if the chain is
// intact. Rows committed after its chaining pass are left to the next one.
func (s *Store) VerifyAudit(ctx context.Context) (int64, *AuditBreak, error) {
	if _, err := s.ChainAudit(ctx, true); err != nil {
		return 0, nil, err
	}
	rows, err := s.db.WithContext(ctx).Model(&AuditEntry{}).Where("seq IS NOT NULL").Order("seq").Rows()
	if err != nil {
		return 0, nil, fmt.Errorf("read audit log: %w", err)
	}
	defer rows.Close()
	prev := make([]byte, sha256.Size)
	var n, wantSeq int64 = 0, 1
	for rows.Next() {
		var e AuditEntry
		if err := s.db.ScanRows(rows, &e); err != nil {
			return n, nil, fmt.Errorf("read audit log: %w", err)
		}
		n++
		switch {
		case e.Seq != wantSeq:
			return n, &AuditBreak{Seq: e.Seq, Reason: fmt.Sprintf("expected record %d: records are missing", wantSeq)}, nil
		case !bytes.Equal(e.PrevHash, prev):
			return n, &AuditBreak{Seq: e.Seq, Reason: "prev_hash does not match the hash of the record before"}, nil
		case !bytes.Equal(hashEntry(&e), e.Hash):
			return n, &AuditBreak{Seq: e.Seq, Reason: "hash does not match the record's contents: it was altered"}, nil
		}
		prev = e.Hash
		wantSeq++
	}
	return n, nil, rows.Err()
}

// ListAudit returns chained audit entries after seq, in chain order. It first
// chains what has committed (ChainAudit), so a reader sees every write that
// committed before the call, and a cursor never skips a row: seq is given in
// chaining order, never to a row that commits later.
func (s *Store) ListAudit(ctx context.Context, afterSeq int64, limit int) ([]AuditEntry, error) {
	if _, err := s.ChainAudit(ctx, true); err != nil {
		return nil, err
	}
	var out []AuditEntry
	err := s.db.WithContext(ctx).Where("seq > ?", afterSeq).Order("seq").Limit(Page{Limit: limit}.limit()).Find(&out).Error
	return out, translate(err, "audit log")
}
