package mask_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"log/slog"
	"net/http"
	"os"

	"github.com/keel-go/keel/crypto/mask"
)

func ExampleEmail() {
	fmt.Println(mask.Email("john.doe@example.com"))
	fmt.Println(mask.Card("4111 1111 1111 1111"))
	fmt.Println(mask.Phone("+49 151 1234 5678"))
	// Output:
	// j***@example.com
	// 411111******1111
	// ***5678
}

func ExampleStruct() {
	type Customer struct {
		ID    int
		Name  string `mask:"name"`
		Email string `mask:"email"`
		Card  string `mask:"card"`
	}
	c := Customer{ID: 42, Name: "Ann Smith", Email: "ann@example.com", Card: "4111111111111111"}
	shown, err := mask.Struct(c)
	fmt.Printf("%+v %v\n", shown, err)
	fmt.Println(c.Email) // the original is untouched
	// Output:
	// {ID:42 Name:A*** S*** Email:a***@example.com Card:411111******1111} <nil>
	// ann@example.com
}

func ExampleMasker_Handler() {
	plain := slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{} // keep the example's output stable
			}
			return a
		},
	})
	logger := slog.New(mask.Default().Handler(plain))
	logger.Info("login", "email", "ann@example.com", slog.Group("req", "Api-Key", "k-123", "path", "/orders"))
	// Output: level=INFO msg=login email=a***@example.com req.Api-Key=[REDACTED] req.path=/orders
}

func ExampleMap() {
	body := map[string]any{"user": map[string]any{"email": "ann@example.com", "password": "hunter2"}, "qty": 2}
	fmt.Println(mask.Map(body))
	// Output: map[qty:2 user:map[email:a***@example.com password:[REDACTED]]]
}

// Who reads decides what is shown: admins see the "pii" class in clear,
// everyone else sees it masked, and the audit hook records each reveal.
func ExampleView() {
	type Customer struct {
		ID    int
		Email string `mask:"email,reveal=pii"`
		Card  string `mask:"card"` // no class: masked for everyone
	}
	policy, err := mask.NewPolicy(mask.PolicyConfig{
		Reveal: map[string][]string{"admin": {"pii"}},
		Audit: func(_ context.Context, r mask.Revealed) {
			fmt.Printf("audit: %s saw %v\n", r.Role, r.Fields)
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	c := Customer{ID: 7, Email: "ann@example.com", Card: "4111111111111111"}
	for _, role := range []string{"admin", "sales"} {
		shown, err := mask.View(mask.WithRole(context.Background(), role), policy, c)
		fmt.Printf("%s: %+v %v\n", role, shown, err)
	}
	// Output:
	// audit: admin saw [{mask_test.Customer.Email pii}]
	// admin: {ID:7 Email:ann@example.com Card:411111******1111} <nil>
	// sales: {ID:7 Email:a***@example.com Card:411111******1111} <nil>
}

// Headers, query values and JSON bodies are masked by key name, whatever
// their Go type.
func ExampleMasker_Value() {
	m := mask.Default()
	fmt.Println(m.Value("headers", http.Header{"Authorization": {"Bearer abc"}, "Accept": {"*/*"}}))
	fmt.Println(string(m.Value("body", json.RawMessage(`{"email":"ann@example.com","password":"x"}`)).(json.RawMessage)))
	// Output:
	// map[Accept:[*/*] Authorization:[[REDACTED]]]
	// {"email":"a***@example.com","password":"[REDACTED]"}
}
