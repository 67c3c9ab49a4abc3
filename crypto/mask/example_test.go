package mask_test

import (
	"fmt"
	"log/slog"
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
