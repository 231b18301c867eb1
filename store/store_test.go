package store_test

import (
	"context"
	"errors"
	"testing"

	"inspectonce/domain"
	"inspectonce/store"
	"inspectonce/store/storetest"
)

func TestMigrationsUpDownUp(t *testing.T) {
	st, _ := storetest.New(t)
	ctx := context.Background()
	m, err := store.NewMigrator(st.SQL())
	if err != nil {
		t.Fatal(err)
	}
	status, err := m.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range status {
		if !s.Applied {
			t.Fatalf("migration %d not applied after Up", s.Version)
		}
	}
	for range status {
		if err := m.Down(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := m.Up(ctx); err != nil || n != len(status) {
		t.Fatalf("re-apply: %d, %v", n, err)
	}
}

func TestAuditChainDetectsTampering(t *testing.T) {
	st, dsn := storetest.New(t)
	ctx := context.Background()
	for i := range 5 {
		d := &domain.Department{Code: "D" + string(rune('A'+i)), Name: "dept"}
		if err := st.CreateDepartment(ctx, "admin", d); err != nil {
			t.Fatal(err)
		}
	}
	n, brk, err := st.VerifyAudit(ctx)
	if err != nil || brk != nil || n != 5 {
		t.Fatalf("intact chain: n=%d break=%v err=%v", n, brk, err)
	}
	// The table refuses updates, so a tamperer must first disable the trigger.
	if err := st.ExecForTest(ctx, "UPDATE audit_log SET actor = 'mallory' WHERE seq = 3"); err == nil {
		t.Fatal("audit_log accepted an UPDATE")
	}
	raw, err := store.Open(dsn, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	for _, q := range []string{
		"ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update",
		"UPDATE audit_log SET actor = 'mallory' WHERE seq = 3",
	} {
		if err := raw.ExecForTest(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	_, brk, err = st.VerifyAudit(ctx)
	if err != nil || brk == nil || brk.Seq != 3 {
		t.Fatalf("tampered chain: break=%+v err=%v, want break at 3", brk, err)
	}
}

func TestDuplicateCodeIsConflict(t *testing.T) {
	st, _ := storetest.New(t)
	ctx := context.Background()
	d := &domain.Department{Code: "SCJG", Name: "市场监管"}
	if err := st.CreateDepartment(ctx, "admin", d); err != nil || d.ID == 0 {
		t.Fatalf("create: id=%d err=%v", d.ID, err)
	}
	err := st.CreateDepartment(ctx, "admin", &domain.Department{Code: "SCJG", Name: "again"})
	if !errors.Is(err, domain.ErrConflict) {
		t.Fatalf("duplicate: %v, want ErrConflict", err)
	}
}
