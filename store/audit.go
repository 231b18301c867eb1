package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"gorm.io/gorm"
)

// auditLockKey serialises appends to the audit chain (pg_advisory_xact_lock).
const auditLockKey = 7_310_001

// AuditEntry is one record of the append-only audit log.
type AuditEntry struct {
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

// appendAudit adds an entry to the chain inside tx. The advisory lock is held to
// commit, so the chain has one order even with many writers.
func appendAudit(tx *gorm.DB, actor, action, object, outcome string, detail any) error {
	d := "{}"
	if detail != nil {
		b, err := json.Marshal(detail)
		if err != nil {
			return fmt.Errorf("audit detail: %w", err)
		}
		d = string(b)
	}
	if err := tx.Exec("SELECT pg_advisory_xact_lock(?)", auditLockKey).Error; err != nil {
		return fmt.Errorf("audit lock: %w", err)
	}
	var last struct {
		Seq  int64
		Hash []byte
	}
	if err := tx.Raw("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1").Scan(&last).Error; err != nil {
		return fmt.Errorf("audit head: %w", err)
	}
	if last.Hash == nil {
		last.Hash = make([]byte, sha256.Size)
	}
	e := AuditEntry{
		Seq: last.Seq + 1, At: time.Now().UTC().Truncate(time.Microsecond),
		Actor: actor, Action: action, Object: object, Outcome: outcome, Detail: d,
		PrevHash: last.Hash,
	}
	e.Hash = hashEntry(&e)
	if err := tx.Create(&e).Error; err != nil {
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

// VerifyAudit walks the whole chain in order and returns the number of records
// checked and the first break, or nil if the chain is intact.
func (s *Store) VerifyAudit(ctx context.Context) (int64, *AuditBreak, error) {
	rows, err := s.db.WithContext(ctx).Model(&AuditEntry{}).Order("seq").Rows()
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

// ListAudit returns audit entries after seq, oldest first.
func (s *Store) ListAudit(ctx context.Context, afterSeq int64, limit int) ([]AuditEntry, error) {
	var out []AuditEntry
	err := s.db.WithContext(ctx).Where("seq > ?", afterSeq).Order("seq").Limit(Page{Limit: limit}.limit()).Find(&out).Error
	return out, translate(err, "audit log")
}
