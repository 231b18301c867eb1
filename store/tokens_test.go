package store_test

import (
	"context"
	"errors"
	"testing"

	"inspectonce/domain"
	"inspectonce/store/storetest"
)

func TestTokenLifecycle(t *testing.T) {
	st, _ := storetest.New(t)
	ctx := context.Background()
	d := &domain.Department{Code: "SCJG", Name: "市场监管"}
	if err := st.CreateDepartment(ctx, "test", d); err != nil {
		t.Fatal(err)
	}
	tok, id, err := st.CreateToken(ctx, "test", "alice", domain.RolePlanner, "SCJG")
	if err != nil {
		t.Fatal(err)
	}
	p, err := st.Authenticate(ctx, tok)
	if err != nil {
		t.Fatal(err)
	}
	if p.TokenID != id || p.Role != domain.RolePlanner || p.DepartmentID != d.ID || p.Scope != "SCJG" {
		t.Fatalf("principal = %+v", p)
	}
	if _, err := st.Authenticate(ctx, tok+"x"); !errors.Is(err, domain.ErrUnauthenticated) {
		t.Fatalf("wrong token: %v", err)
	}
	if _, _, err := st.CreateToken(ctx, "test", "bob", domain.RolePlanner, "NOPE"); err == nil {
		t.Fatal("token for an unknown department issued")
	}
	if err := st.RevokeToken(ctx, "test", id); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Authenticate(ctx, tok); !errors.Is(err, domain.ErrUnauthenticated) {
		t.Fatalf("revoked token: %v", err)
	}
}
