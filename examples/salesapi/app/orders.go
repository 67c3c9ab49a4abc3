package app

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"errors"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/keel-go/keel/audit"
	"github.com/keel-go/keel/breaker"
	"github.com/keel-go/keel/examples/salesapi/gateway"
	"github.com/keel-go/keel/examples/salesapi/store"
	"github.com/keel-go/keel/idempotency"
)

type orderItem struct {
	SKU            string `json:"sku"`
	Qty            int    `json:"qty"`
	UnitPriceCents int64  `json:"unit_price_cents"`
}

type order struct {
	ID         string      `json:"id"`
	CustomerID string      `json:"customer_id"`
	Currency   string      `json:"currency"`
	Items      []orderItem `json:"items"`
	TotalCents int64       `json:"total_cents"`
	Status     string      `json:"status"`
	PaymentID  string      `json:"payment_id"`
	CreatedAt  time.Time   `json:"created_at"`
}

func orderView(o store.Order) order {
	items := make([]orderItem, len(o.Items))
	for i, it := range o.Items {
		items[i] = orderItem(it)
	}
	return order{ID: o.ID, CustomerID: o.CustomerID, Currency: o.Currency, Items: items, TotalCents: o.TotalCents,
		Status: o.Status, PaymentID: o.PaymentID, CreatedAt: time.UnixMilli(o.CreatedAt).UTC()}
}

var currencyCode = regexp.MustCompile(`^[A-Z]{3}$`)

// createOrder is POST /v1/orders, behind the idempotency middleware
// (routes), whose lease on the request's Idempotency-Key makes the order
// safe to repeat: see placeOrder.
func (a *App) createOrder(w http.ResponseWriter, r *http.Request) {
	lease, ok := idempotency.LeaseFromContext(r.Context())
	if !ok {
		a.internal(w, r, "create order", errors.New("no idempotency lease: POST /v1/orders is served behind the idempotency middleware"))
		return
	}
	a.placeOrder(w, r, a.orderKeys(lease))
}

// orderKeys is what makes one order safe to repeat.
type orderKeys struct {
	// payment is the key the charge is sent with on every attempt: a
	// retry of the request is charged nothing more.
	payment string
	// order is stored with the order row under a unique constraint, so
	// the database refuses a second order for one request key.
	order string
	// lease is the request's hold on its idempotency record.
	lease idempotency.Lease
	// completeInTx completes the record in the order's own transaction
	// (records in SQL), so a crash leaves both or neither; otherwise the
	// middleware completes it after the handler (records in Redis).
	completeInTx bool
}

// orderKeys derives an order's keys from the request's idempotency lease.
func (a *App) orderKeys(lease idempotency.Lease) orderKeys {
	return orderKeys{
		payment:      idempotency.DerivedKey(lease.Scope, lease.Key, "payment"),
		order:        idempotency.DerivedKey(lease.Scope, lease.Key, "order"),
		lease:        lease,
		completeInTx: a.idemSQL != nil,
	}
}

// placeOrder charges the gateway, then writes the order row, its audit
// event and (keys.completeInTx) its idempotency record in one transaction
// (commitOrder). A retry of a request whose charge went through is charged
// nothing more, because the gateway key is derived from the request's key.
func (a *App) placeOrder(w http.ResponseWriter, r *http.Request, keys orderKeys) {
	var in struct {
		CustomerID string      `json:"customer_id"`
		Items      []orderItem `json:"items"`
		Currency   string      `json:"currency"`
	}
	if !decodeJSON(w, r, &in) {
		return
	}
	var v validation
	v.check(in.CustomerID != "", "customer_id", "is required")
	v.check(currencyCode.MatchString(in.Currency), "currency", "must be an ISO 4217 code such as EUR")
	v.check(len(in.Items) >= 1 && len(in.Items) <= 100, "items", "must hold 1 to 100 lines")
	var total int64
	for _, it := range in.Items {
		ok := strings.TrimSpace(it.SKU) != "" && len(it.SKU) <= 64 && it.Qty >= 1 && it.Qty <= 10_000 &&
			it.UnitPriceCents >= 0 && it.UnitPriceCents <= 100_000_000
		v.check(ok, "items", "each line needs a sku (1-64 chars), qty 1-10000 and unit_price_cents 0-100000000")
		if !ok {
			break
		}
		total += int64(it.Qty) * it.UnitPriceCents
	}
	v.check(total > 0, "items", "the order total must be positive")
	if v.answer(w) {
		return
	}
	ctx := r.Context()
	if _, err := a.store.GetCustomer(ctx, in.CustomerID); errors.Is(err, store.ErrNotFound) {
		writeProblem(w, Problem{Status: http.StatusUnprocessableEntity, Code: CodeInvalid, Detail: "invalid fields: customer_id",
			Fields: []FieldError{{Field: "customer_id", Message: "no customer with this id"}}})
		return
	} else if err != nil {
		a.internal(w, r, "create order", err)
		return
	}

	o := store.Order{ID: newID("ord_"), CustomerID: in.CustomerID, Currency: in.Currency, TotalCents: total,
		Status: "paid", CreatedAt: time.Now().UnixMilli(), IdempotencyKey: keys.order}
	for _, it := range in.Items {
		o.Items = append(o.Items, store.OrderItem(it))
	}
	ch, err := a.charge(ctx, keys.payment, gateway.ChargeRequest{AmountCents: total, Currency: in.Currency, Reference: o.ID})
	if err != nil {
		a.paymentFailed(w, r, err)
		return
	}
	o.PaymentID = ch.ID

	body, header := orderAnswer(o)
	if err := a.commitOrder(r, keys, o, idempotency.Outcome{Status: http.StatusCreated, Header: header, Body: body}); err != nil {
		// The database refuses a second order for one key: a run of this
		// request already placed it (and its record was lost or never
		// completed — a crash between the order's commit and a Redis
		// record's completion). The retry gets that first order, not a new
		// one; the middleware stores this answer as the record's outcome.
		if first, ferr := a.store.OrderByIdempotencyKey(ctx, o.IdempotencyKey); ferr == nil {
			a.cfg.Logger.InfoContext(ctx, "order already placed under this idempotency key; answering with it", "order_id", first.ID)
			body, header = orderAnswer(first)
		} else {
			a.mutationFailed(w, r, "order", err)
			return
		}
	}
	for k, vs := range header {
		w.Header()[k] = vs
	}
	w.WriteHeader(http.StatusCreated)
	_, _ = bytes.NewReader(body).WriteTo(w)
}

// commitOrder writes o and its audit event in one transaction and, when
// keys.completeInTx, completes the idempotency record with answer in the
// same transaction and tells the middleware so. It is the one place that
// choice is acted on: the record is complete exactly when the order is.
func (a *App) commitOrder(r *http.Request, keys orderKeys, o store.Order, answer idempotency.Outcome) error {
	ctx := r.Context()
	err := a.store.InTx(ctx, func(tx *sql.Tx) error {
		if err := a.store.InsertOrderTx(ctx, tx, o); err != nil {
			return err
		}
		if keys.completeInTx {
			if err := a.idemSQL.CompleteTx(ctx, tx, keys.lease, answer); err != nil {
				return err
			}
		}
		// Audited before the commit: if the event cannot be written the
		// order is rolled back (and the key released, so a retry can run;
		// its charge is the same charge, by the derived key).
		return a.auditEvent(r, audit.Event{Action: "order.create", Resource: audit.Resource{Type: "order", ID: o.ID}, Outcome: audit.Success,
			After: map[string]any{"customer_id": o.CustomerID, "total_cents": o.TotalCents, "currency": o.Currency, "payment_id": o.PaymentID}})
	})
	if err == nil && keys.completeInTx {
		idempotency.MarkCompleted(ctx) // already complete, in the order's transaction
	}
	return err
}

// orderAnswer is the 201 a placed order is answered with: the same bytes
// for the request that placed it and for any retry that finds it.
func orderAnswer(o store.Order) ([]byte, http.Header) {
	body, _ := json.Marshal(orderView(o))
	body = append(body, '\n')
	return body, http.Header{"Content-Type": {"application/json"}, "Location": {"/v1/orders/" + o.ID}}
}

// paymentFailed answers a charge that did not go through. An open breaker is
// 503 at once with Retry-After; a gateway failure after retries is 502.
// Neither is stored by the idempotency middleware (5xx releases the key), so
// the client may retry with the same key.
func (a *App) paymentFailed(w http.ResponseWriter, r *http.Request, err error) {
	if clientGone(r) {
		a.clientClosed(w, r, "payment", err)
		return
	}
	var open *breaker.OpenError
	if errors.As(err, &open) {
		wait := time.Until(open.RetryAt)
		unavailable(w, CodePaymentDegraded, "the payment gateway is failing; orders are refused until it recovers", wait)
		return
	}
	var refused *errGatewayStatus
	if errors.As(err, &refused) && refused.status >= 400 && refused.status < 500 &&
		refused.status != http.StatusTooManyRequests && refused.status != http.StatusConflict {
		// 429 and 409 are not refusals: the gateway is busy, or still
		// working on this key's charge, so they fall through to the
		// retryable answer below (see classifyGateway).
		// The gateway answered: it refuses this charge, and would refuse
		// it again. Not a gateway failure (the breaker did not count it).
		a.cfg.Logger.ErrorContext(r.Context(), "payment refused by the gateway", "err", err)
		problem(w, http.StatusBadGateway, CodePaymentFailed, "the payment gateway refused the charge; retrying will not help")
		return
	}
	a.cfg.Logger.WarnContext(r.Context(), "payment failed", "err", err)
	problem(w, http.StatusBadGateway, CodePaymentFailed, "the payment gateway did not accept the charge; retry with the same Idempotency-Key")
}

func (a *App) getOrder(w http.ResponseWriter, r *http.Request) {
	o, err := a.store.GetOrder(r.Context(), r.PathValue("id"))
	if errors.Is(err, store.ErrNotFound) {
		problem(w, http.StatusNotFound, CodeNotFound, "no order with this id")
		return
	}
	if err != nil {
		a.internal(w, r, "get order", err)
		return
	}
	writeJSON(w, http.StatusOK, orderView(o))
}
