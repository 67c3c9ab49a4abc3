package demo

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
)

type reply struct {
	status int
	header http.Header
	body   []byte
}

func (r reply) decode(v any) error {
	if err := json.Unmarshal(r.body, v); err != nil {
		return fmt.Errorf("decoding %d answer %q: %w", r.status, r.body, err)
	}
	return nil
}

// call sends one request; headers are name, value pairs.
func (e *env) call(method, path, key string, body any, headers ...string) (reply, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return reply{}, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(e.ctx, method, e.url+path, rd)
	if err != nil {
		return reply{}, err
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := e.client.Do(req)
	if err != nil {
		return reply{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return reply{status: resp.StatusCode, header: resp.Header, body: b}, err
}

// expect sends a request like call and fails unless the reply has the
// wanted status.
func (e *env) expect(want int, method, path, key string, body any, headers ...string) (reply, error) {
	r, err := e.call(method, path, key, body, headers...)
	if err != nil {
		return r, err
	}
	if r.status != want {
		return r, fmt.Errorf("want HTTP %d, got %d: %s", want, r.status, r.body)
	}
	return r, nil
}
