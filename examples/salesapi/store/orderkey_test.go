package store_test

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/keel-go/keel/examples/salesapi/store"
	"github.com/keel-go/keel/internal/testenv"
)

// The database refuses a second order under one idempotency key, on both
// dialects, while orders without a key never collide; and a database made
// before the column existed gains it (and its unique index) on Migrate.
func TestOrderIdempotencyKeyIsUnique(t *testing.T) {
	dsns := map[string]func(t *testing.T) string{
		"sqlite":   func(t *testing.T) string { return filepath.Join(t.TempDir(), "sales.db") },
		"postgres": func(t *testing.T) string { return testenv.PostgresSchema(t).DSN },
	}
	for name, dsn := range dsns {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			s, err := store.Open(ctx, dsn(t), store.Telemetry{})
			require.NoError(t, err)
			defer s.Close()

			// The orders table as it was before the column: Migrate must add it.
			_, err = s.DB.ExecContext(ctx, `CREATE TABLE customers (id TEXT PRIMARY KEY, name TEXT NOT NULL, email_enc BYTEA NOT NULL, email_bidx TEXT NOT NULL,
				phone_enc BYTEA NOT NULL, company TEXT NOT NULL, created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL)`)
			require.NoError(t, err)
			_, err = s.DB.ExecContext(ctx, `CREATE TABLE orders (id TEXT PRIMARY KEY, customer_id TEXT NOT NULL REFERENCES customers(id), currency TEXT NOT NULL,
				total_cents BIGINT NOT NULL, status TEXT NOT NULL, payment_id TEXT NOT NULL, created_at BIGINT NOT NULL)`)
			require.NoError(t, err)
			_, err = s.DB.ExecContext(ctx, `INSERT INTO customers VALUES ('cus_1', 'n', 'e', 'b', 'p', 'c', 1, 1)`)
			require.NoError(t, err)
			_, err = s.DB.ExecContext(ctx, `INSERT INTO orders VALUES ('ord_old', 'cus_1', 'EUR', 100, 'paid', 'ch_old', 1)`)
			require.NoError(t, err)
			require.NoError(t, s.Migrate(ctx))
			require.NoError(t, s.Migrate(ctx), "Migrate is idempotent")

			old, err := s.GetOrder(ctx, "ord_old")
			require.NoError(t, err)
			assert.Empty(t, old.IdempotencyKey, "an order from before the column has no key")

			insert := func(o store.Order) error {
				return s.InTx(ctx, func(tx *sql.Tx) error { return s.InsertOrderTx(ctx, tx, o) })
			}
			order := func(id, key string) store.Order {
				return store.Order{ID: id, CustomerID: "cus_1", Currency: "EUR", TotalCents: 4900, Status: "paid", PaymentID: "ch_" + id,
					CreatedAt: 2, IdempotencyKey: key, Items: []store.OrderItem{{SKU: "SEAT", Qty: 1, UnitPriceCents: 4900}}}
			}
			require.NoError(t, insert(order("ord_a", "key-1")))
			require.Error(t, insert(order("ord_b", "key-1")), "a second order under one key is refused by the database")
			_, err = s.GetOrder(ctx, "ord_b")
			assert.True(t, errors.Is(err, store.ErrNotFound), "the refused order left nothing behind (its lines neither): %v", err)

			first, err := s.OrderByIdempotencyKey(ctx, "key-1")
			require.NoError(t, err)
			assert.Equal(t, "ord_a", first.ID)
			assert.Equal(t, "key-1", first.IdempotencyKey)
			require.Len(t, first.Items, 1)

			require.NoError(t, insert(order("ord_c", "")), "orders without a key never collide")
			require.NoError(t, insert(order("ord_d", "")))
			_, err = s.OrderByIdempotencyKey(ctx, "")
			assert.True(t, errors.Is(err, store.ErrNotFound))
			_, err = s.OrderByIdempotencyKey(ctx, "key-2")
			assert.True(t, errors.Is(err, store.ErrNotFound))
		})
	}
}
