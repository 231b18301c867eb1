package jobs

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	"github.com/hibiken/asynq"

	"inspectonce/store"
	"inspectonce/store/storetest"
)

// TestWebhookDeliveryRefusesPrivateAddress: a webhook on loopback (stored
// before the rule, or whose name now resolves inward) is not delivered to
// unless webhooks.allow_private: the dial is refused and the attempt recorded
// with the reason; with the option the same delivery goes through.
func TestWebhookDeliveryRefusesPrivateAddress(t *testing.T) {
	st, _ := storetest.New(t)
	ctx := context.Background()
	recv := newReceiver(t, "guard-secret-0123456789", false)
	hook, err := st.CreateWebhook(ctx, "test", store.RecipientTeam, recv.srv.URL, recv.secret)
	if err != nil {
		t.Fatal(err)
	}
	w, err := st.WriteNotifications(ctx, []store.NewNotification{
		{EffectKey: "roster:team:1:2030-02-01", RecipientKind: "team", RecipientID: "1", Kind: "roster", Title: "r"}})
	if err != nil || len(w.Deliveries) != 1 {
		t.Fatalf("%+v %v", w, err)
	}
	nid := w.Deliveries[0].NotificationID
	b, _ := json.Marshal(WebhookPayload{V: 1, NotificationID: nid, WebhookID: hook.ID})
	task := asynq.NewTask(TypeWebhookDeliver, b)

	guarded := NewDispatcher(DispatchOptions{Store: st, Logger: slog.New(slog.DiscardHandler)})
	if err := guarded.HandleWebhook(ctx, task); err == nil {
		t.Fatal("a delivery to loopback succeeded")
	}
	if got, _ := recv.snapshot(); len(got) != 0 {
		t.Fatalf("the loopback receiver got %v", got)
	}
	if j, _ := st.DeliveryJobOf(ctx, nid, hook.ID); j.Status != store.DeliveryPending || !strings.Contains(j.LastError, "loopback") {
		t.Fatalf("refused delivery recorded as %+v, want pending with the reason", j)
	}

	open := NewDispatcher(DispatchOptions{Store: st, AllowPrivateWebhooks: true, Logger: slog.New(slog.DiscardHandler)})
	if err := open.HandleWebhook(ctx, task); err != nil {
		t.Fatalf("with allow_private: %v", err)
	}
	if got, _ := recv.snapshot(); got[nid] != 1 {
		t.Fatalf("with allow_private the receiver got %v", got)
	}
}
