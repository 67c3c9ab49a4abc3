package app

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/keel-go/keel/breaker"
	"github.com/keel-go/keel/examples/salesapi/gateway"
	"github.com/keel-go/keel/retry"
)

// errGatewayStatus is a charge refused by the gateway with a status code.
type errGatewayStatus struct {
	status     int
	retryAfter string
}

func (e *errGatewayStatus) Error() string {
	return fmt.Sprintf("payment gateway answered %d", e.status)
}

// classifyPayment retries what the gateway says is transient (429, 502, 503,
// 504, transport errors: retry.ClassifyHTTP's rules) and stops on the rest.
// A breaker rejection is final for this request: the breaker already knows
// the gateway is down, and waiting out its break would only hold the client.
func classifyPayment(result any, err error) retry.Decision {
	if errors.Is(err, breaker.ErrOpen) {
		return retry.Decision{Verdict: retry.Stop}
	}
	var gs *errGatewayStatus
	if errors.As(err, &gs) {
		resp := &http.Response{StatusCode: gs.status, Header: http.Header{}}
		if gs.retryAfter != "" {
			resp.Header.Set("Retry-After", gs.retryAfter)
		}
		return retry.ClassifyHTTP(resp, nil)
	}
	return retry.ClassifyHTTP(result, err)
}

// charge takes the order's amount from the gateway: retry outside, breaker
// inside (so retries do not inflate the breaker's failure rate), with an
// idempotency key derived from the order's, so however often this runs —
// retries here, or a client's retry of the whole request — the gateway
// charges once.
func (a *App) charge(ctx context.Context, key string, req gateway.ChargeRequest) (gateway.Charge, error) {
	body, err := json.Marshal(req)
	if err != nil {
		return gateway.Charge{}, err
	}
	return retry.Do(ctx, a.payRetry, func(ctx context.Context) (gateway.Charge, error) {
		return breaker.Do(ctx, a.payBreaker, func(ctx context.Context) (gateway.Charge, error) {
			return a.postCharge(ctx, key, body)
		})
	})
}

func (a *App) postCharge(ctx context.Context, key string, body []byte) (gateway.Charge, error) {
	httpReq, err := http.NewRequestWithContext(ctx, http.MethodPost, a.cfg.GatewayURL+"/charges", bytes.NewReader(body))
	if err != nil {
		return gateway.Charge{}, retry.Permanent(err)
	}
	httpReq.Header.Set("Content-Type", "application/json")
	httpReq.Header.Set("Idempotency-Key", key)
	resp, err := a.payClient.Do(httpReq)
	if err != nil {
		return gateway.Charge{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
		return gateway.Charge{}, &errGatewayStatus{status: resp.StatusCode, retryAfter: resp.Header.Get("Retry-After")}
	}
	var c gateway.Charge
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<16)).Decode(&c); err != nil {
		return gateway.Charge{}, fmt.Errorf("payment gateway: malformed answer: %w", err)
	}
	return c, nil
}
