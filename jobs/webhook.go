package jobs

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hibiken/asynq"

	"inspectonce/domain"
	"inspectonce/store"
)

// Webhooks.
//
// Every notification is pushed to each active webhook registered for its
// recipient kind (store.CreateWebhook), by a webhook:deliver task of its own
// per (notification, webhook): a webhook that keeps failing delays only its
// own tasks. A delivery is an HTTP POST of the notification as JSON
// (application/json; the fields of GET /api/v1/notifications) with these
// headers:
//
//	X-InspectOnce-Timestamp: <unix seconds when sent>
//	X-InspectOnce-Signature: sha256=<hex HMAC-SHA256(secret, timestamp + "." + body)>
//	X-InspectOnce-Delivery:  <notification id>-<webhook id>
//	X-InspectOnce-Event:     <notification kind>
//
// To verify, compute HMAC-SHA256 with the webhook's secret over the
// timestamp header, a ".", and the raw request body exactly as received, and
// compare it in constant time with the hex after "sha256=" (VerifySignature
// does this); reject a timestamp more than SignatureTolerance from your clock,
// so that a captured request cannot be replayed later.
//
// Any 2xx answer is success. Anything else (or no answer within 15 s) is
// retried with back-off, up to WebhookMaxRetry times; the delivery is then
// recorded failed and its task archived. A delivery that succeeded is never
// sent again; but a receiver whose 2xx is lost in transit will see the same
// delivery again: deduplicate on X-InspectOnce-Delivery. A notice not yet
// visible (a business told of a visit announce_days ahead) is not sent
// before its visible_from.
const (
	TypeWebhookDeliver = "webhook:deliver"
	WebhookQueue       = NoticeQueue
	WebhookMaxRetry    = 12
	WebhookTimeout     = time.Minute
	SignatureTolerance = 5 * time.Minute

	HeaderTimestamp = "X-InspectOnce-Timestamp"
	HeaderSignature = "X-InspectOnce-Signature"
	HeaderDelivery  = "X-InspectOnce-Delivery"
	HeaderEvent     = "X-InspectOnce-Event"
)

// WebhookPayload is version 1 of a webhook:deliver payload.
type WebhookPayload struct {
	V              int   `json:"v"`
	NotificationID int64 `json:"notification_id"`
	WebhookID      int64 `json:"webhook_id"`
	PlanID         int64 `json:"plan_id,omitempty"`
}

// WebhookTaskID is the task ID of the delivery of a notification to a webhook.
func WebhookTaskID(notificationID, webhookID int64) string {
	return fmt.Sprintf("webhook:%d:%d", notificationID, webhookID)
}

// Sign returns the X-InspectOnce-Signature value of body sent at timestamp ts
// (unix seconds, as text) under secret.
func Sign(secret, ts string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(ts))
	mac.Write([]byte{'.'})
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// VerifySignature checks a delivery's signature header sig against the
// timestamp header ts and the raw body, under the webhook's secret. It does
// not judge the timestamp's age (compare it with SignatureTolerance).
func VerifySignature(secret, ts string, body []byte, sig string) error {
	if _, err := strconv.ParseInt(ts, 10, 64); err != nil {
		return fmt.Errorf("webhook timestamp %q is not unix seconds", ts)
	}
	h, ok := strings.CutPrefix(sig, "sha256=")
	if !ok {
		return errors.New("webhook signature does not start with sha256=")
	}
	got, err := hex.DecodeString(h)
	if err != nil {
		return errors.New("webhook signature is not hex")
	}
	want, _ := hex.DecodeString(strings.TrimPrefix(Sign(secret, ts, body), "sha256="))
	if !hmac.Equal(got, want) {
		return errors.New("webhook signature does not match")
	}
	return nil
}

// notYet is returned for a delivery attempted before its notice is visible:
// the worker retries it then, without counting a failure.
type notYet struct{ until time.Time }

func (e notYet) Error() string {
	return "the notice is not visible before " + e.until.Format(time.RFC3339)
}

// deliveryEnqueues is how many webhook deliveries enqueueDeliveries hands
// to Redis at once: asynq has no batch enqueue, and a dispatch batch may
// leave a thousand deliveries, whose round trips one after the other would
// cost more than writing the notices did.
const deliveryEnqueues = 16

// enqueueDeliveries queues the deliveries given, each under its task ID (one
// already queued counts as queued) and not before the notice is visible,
// deliveryEnqueues at a time. It returns the first error, after trying them
// all: those not queued stay pending and are queued by the run that retries.
func (d *Dispatcher) enqueueDeliveries(ctx context.Context, ds []store.Delivery) error {
	if len(ds) == 0 {
		return nil
	}
	if d.q == nil {
		return errors.New("webhook deliveries are pending but the dispatcher has no queue")
	}
	now := d.now()
	var (
		mu    sync.Mutex
		first error
		wg    sync.WaitGroup
		next  = make(chan store.Delivery)
	)
	for range min(deliveryEnqueues, len(ds)) {
		wg.Go(func() {
			for x := range next {
				if err := d.enqueueDelivery(ctx, x, now); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
				}
			}
		})
	}
	for _, x := range ds {
		next <- x
	}
	close(next)
	wg.Wait()
	return first
}

func (d *Dispatcher) enqueueDelivery(ctx context.Context, x store.Delivery, now time.Time) error {
	b, err := json.Marshal(WebhookPayload{V: 1, NotificationID: x.NotificationID, WebhookID: x.WebhookID, PlanID: x.PlanID})
	if err != nil {
		return fmt.Errorf("webhook payload: %w", err)
	}
	opts := d.opts(asynq.Queue(WebhookQueue), asynq.MaxRetry(WebhookMaxRetry), asynq.Timeout(WebhookTimeout),
		asynq.Retention(TaskRetention), asynq.TaskID(WebhookTaskID(x.NotificationID, x.WebhookID)))
	if x.VisibleFrom.After(now) {
		opts = append(opts, asynq.ProcessAt(x.VisibleFrom))
	}
	if _, err := d.q.EnqueueContext(ctx, asynq.NewTask(TypeWebhookDeliver, b), opts...); err != nil &&
		!errors.Is(err, asynq.ErrTaskIDConflict) {
		return fmt.Errorf("enqueue delivery of notification %d to webhook %d: %w", x.NotificationID, x.WebhookID, err)
	}
	return nil
}

// HandleWebhook is the handler of TypeWebhookDeliver: it POSTs the
// notification to the webhook, signed, and records the outcome. A delivery
// already made (or given up) is not sent again.
func (d *Dispatcher) HandleWebhook(ctx context.Context, t *asynq.Task) error {
	var p WebhookPayload
	if err := json.Unmarshal(t.Payload(), &p); err != nil {
		return fmt.Errorf("webhook payload: %v: %w", err, asynq.SkipRetry)
	}
	if p.V != 1 {
		return fmt.Errorf("webhook payload version %d is not known: %w", p.V, asynq.SkipRetry)
	}
	j, err := d.st.DeliveryJobOf(ctx, p.NotificationID, p.WebhookID)
	if errors.Is(err, domain.ErrNotFound) {
		return fmt.Errorf("webhook: %w: %w", err, asynq.SkipRetry)
	}
	if err != nil {
		return err
	}
	if j.Status != store.DeliveryPending {
		return nil
	}
	if !j.Webhook.Active {
		return d.st.RecordDelivery(ctx, p.NotificationID, p.WebhookID, store.DeliverySkipped, "the webhook is not active")
	}
	if j.Notification.VisibleFrom.After(d.now()) {
		return notYet{j.Notification.VisibleFrom}
	}
	sendErr := d.send(ctx, j)
	if sendErr == nil {
		d.hooks.WithLabelValues("delivered").Inc()
		if err := d.st.RecordDelivery(ctx, p.NotificationID, p.WebhookID, store.DeliveryDelivered, ""); err != nil {
			return fmt.Errorf("webhook delivered but not recorded: %w", err)
		}
		return nil
	}
	status := store.DeliveryPending
	if lastAttempt(ctx) {
		status = store.DeliveryFailed
	}
	d.hooks.WithLabelValues("failed").Inc()
	if err := d.st.RecordDelivery(context.WithoutCancel(ctx), p.NotificationID, p.WebhookID, status, sendErr.Error()); err != nil {
		d.log.Warn("webhook outcome not recorded", "notification_id", p.NotificationID, "webhook_id", p.WebhookID, "err", err)
	}
	return fmt.Errorf("webhook %d: %w", p.WebhookID, sendErr)
}

// lastAttempt reports whether the task running in ctx has no retry left
// (tests replace it).
var lastAttempt = func(ctx context.Context) bool {
	retried, _ := asynq.GetRetryCount(ctx)
	maxRetry, ok := asynq.GetMaxRetry(ctx)
	return ok && retried >= maxRetry
}

// NotificationJSON is the body of a webhook delivery.
func NotificationJSON(n store.Notification) ([]byte, error) { return json.Marshal(n) }

func (d *Dispatcher) send(ctx context.Context, j store.DeliveryJob) error {
	body, err := NotificationJSON(j.Notification)
	if err != nil {
		return err
	}
	ts := strconv.FormatInt(d.now().Unix(), 10)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, j.Webhook.URL, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "InspectOnce-Webhook/1")
	req.Header.Set(HeaderTimestamp, ts)
	req.Header.Set(HeaderSignature, Sign(j.Webhook.Secret, ts, body))
	req.Header.Set(HeaderDelivery, fmt.Sprintf("%d-%d", j.Notification.ID, j.Webhook.ID))
	req.Header.Set(HeaderEvent, j.Notification.Kind)
	res, err := d.http.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(res.Body, 512))
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 1<<20))
	if res.StatusCode < 200 || res.StatusCode > 299 {
		return fmt.Errorf("answered %s: %s", res.Status, strings.TrimSpace(string(snippet)))
	}
	return nil
}
