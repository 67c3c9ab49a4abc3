package mask

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
)

func FuzzRules(f *testing.F) {
	for _, s := range []string{"ann@example.com", "+1 (555) 123-4567", "4111 1111 1111 1111", "192.0.2.1", "Ann Smith", "", "@", "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for name, r := range rules {
			out := r(s)
			if name != "text" && len(s) >= 24 && strings.Contains(out, s) {
				t.Fatalf("%s passed %q through", name, s)
			}
		}
		_ = Map(map[string]any{s: s, "password": s})
	})
}

type leafEmail struct {
	ID    int
	Email string `mask:"email"`
}

type leafToken struct {
	Token string `mask:"redact"`
	Note  string
}

type leafName struct {
	Who string `mask:"name"`
}

type anyHolder struct {
	Label string
	Data  any
}

type tagHolder struct {
	Secret any `mask:"redact"`
}

type embedsHidden struct {
	hiddenBase
	N int
}

type sharedPair struct{ A, B any }

type hidesInUnexported struct {
	ID   int
	data leafToken
}

// secretValue builds a value that carries secret somewhere a mask rule or a
// sensitive key covers, wrapped in layers chosen by shape: the property is
// that, however it is wrapped, the secret never reaches the handler's
// output.
func secretValue(shape []byte, secret string) any {
	pick := func() byte {
		if len(shape) == 0 {
			return 0
		}
		b := shape[0]
		shape = shape[1:]
		return b
	}
	var v any
	switch pick() % 14 {
	case 0:
		v = leafEmail{ID: 1, Email: "x" + secret + "@example.com"}
	case 1:
		v = leafToken{Token: secret, Note: "n"}
	case 2:
		v = leafName{Who: "x" + secret + " y" + secret}
	case 3:
		v = map[string]any{"password": secret, "user": "u"}
	case 4:
		v = http.Header{"Authorization": {"Bearer " + secret}, "Cookie": {"s=" + secret}}
	case 5:
		v = url.Values{"api_key": {secret}}
	case 6:
		v = map[string][]string{"session_id": {secret}}
	case 7:
		v = json.RawMessage(`{"a":[{"client_secret":"` + secret + `"}],"b":1}`)
	case 8:
		v = []byte(`{"user":{"refresh_token":"` + secret + `"}}`)
	case 9:
		v = embedsHidden{hiddenBase: hiddenBase{Email: "x" + secret + "@example.com"}, N: 1}
	case 10:
		v = hidesInUnexported{ID: 1, data: leafToken{Token: secret}}
	case 11:
		v = map[string]any{"card_number": "4111 1111 1111 1111 " + secret}
	case 12: // what YAML decoders produce
		v = map[any]any{"password": secret, 1: "one"}
	case 13: // a repeated member whose last copy hides nothing
		v = json.RawMessage(`{"token":"` + secret + `","token":null}`)
	}
	for depth := 0; depth < 8 && len(shape) > 0; depth++ {
		rv := reflect.ValueOf(v)
		switch pick() % 12 {
		case 0:
			v = []any{"plain", v}
		case 1:
			v = map[string]any{"data": v, "n": depth}
		case 2: // a pointer to the value
			p := reflect.New(rv.Type())
			p.Elem().Set(rv)
			v = p.Interface()
		case 3: // a typed slice
			s := reflect.MakeSlice(reflect.SliceOf(rv.Type()), 2, 2)
			s.Index(1).Set(rv)
			v = s.Interface()
		case 4: // a typed array
			a := reflect.New(reflect.ArrayOf(1, rv.Type())).Elem()
			a.Index(0).Set(rv)
			v = a.Interface()
		case 5: // a typed map
			m := reflect.MakeMap(reflect.MapOf(reflect.TypeFor[string](), rv.Type()))
			m.SetMapIndex(reflect.ValueOf("k"), rv)
			v = m.Interface()
		case 6:
			v = anyHolder{Label: "l", Data: v}
		case 7:
			v = &anyHolder{Data: v}
		case 8:
			v = tagHolder{Secret: v}
		case 9: // as raw JSON; the marks (tags) do not survive marshalling,
			// so the JSON goes under a sensitive key
			if b, err := json.Marshal(v); err == nil {
				v = json.RawMessage(`{"n":1,"credentials":{"access_token":` + string(b) + `}}`)
			}
		case 10: // a map with int keys
			v = map[int]any{1: v}
		case 11: // one value reached through two pointers
			p := reflect.New(rv.Type())
			p.Elem().Set(rv)
			v = sharedPair{A: p.Interface(), B: p.Interface()}
		}
	}
	return v
}

// For random nested values carrying a marked secret, the secret never
// appears in the output of Masker.Handler, with the JSON handler or the text
// handler (which prints structs with %+v, unexported fields included).
func FuzzHandlerNeverLeaksAMarkedSecret(f *testing.F) {
	for _, s := range [][]byte{{0}, {1, 3}, {4, 2, 0}, {7, 9, 1}, {9, 6, 2, 3}, {10, 8}, {3, 9, 9}, {8, 5, 4, 2}, {11}, {2, 7, 6, 10}, {12, 11}, {13, 11, 11}} {
		f.Add(s, uint64(0xfeedbeef))
	}
	f.Fuzz(func(t *testing.T, shape []byte, seed uint64) {
		secret := fmt.Sprintf("Zq%016x", seed) // letters and digits: never escaped
		v := secretValue(shape, secret)
		for _, mk := range []func(*bytes.Buffer) slog.Handler{
			func(b *bytes.Buffer) slog.Handler { return slog.NewJSONHandler(b, nil) },
			func(b *bytes.Buffer) slog.Handler { return slog.NewTextHandler(b, nil) },
		} {
			var buf bytes.Buffer
			slog.New(Default().Handler(mk(&buf))).Info("m", "value", v, slog.Group("g", "inner", v))
			slog.New(Default().Handler(mk(&buf))).With("with", v).Info("m")
			slog.New(Default().Handler(mk(&buf))).WithGroup("credentials").WithGroup("secret").Info("m", "plain", secret)
			if strings.Contains(buf.String(), secret) || strings.Contains(buf.String(), secret[2:]) {
				t.Fatalf("the secret reached the log (shape %v):\n%s", shape, buf.String())
			}
		}
	})
}
