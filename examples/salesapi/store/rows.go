package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// Customer is a customer row as stored: email and phone are ciphertexts.
type Customer struct {
	ID        string
	Name      string
	EmailEnc  []byte
	EmailBidx string
	PhoneEnc  []byte
	Company   string
	CreatedAt int64 // Unix milliseconds
	UpdatedAt int64
}

// License is a licence row.
type License struct {
	ID         string
	CustomerID string
	Product    string
	Seats      int
	ExpiresAt  int64
	CreatedAt  int64
}

// OrderItem is one line of an order.
type OrderItem struct {
	SKU            string
	Qty            int
	UnitPriceCents int64
}

// Order is an order row with its lines.
type Order struct {
	ID         string
	CustomerID string
	Currency   string
	TotalCents int64
	Status     string
	PaymentID  string
	CreatedAt  int64
	Items      []OrderItem
	// IdempotencyKey identifies the request that placed the order (a digest
	// of its scope and Idempotency-Key, never the raw key); unique among
	// orders. Empty for orders placed without a key.
	IdempotencyKey string
}

// Querier is what a statement runs on: the database, or a transaction that
// the caller commits together with other work (an audit event, an
// idempotency record).
type Querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// ErrHasOrders is returned when deleting a customer that has orders: orders
// are kept for accounting, so such a customer cannot be deleted.
var ErrHasOrders = errors.New("store: customer has orders")

const customerCols = `id, name, email_enc, email_bidx, phone_enc, company, created_at, updated_at`

func scanCustomer(row interface{ Scan(...any) error }) (Customer, error) {
	var c Customer
	err := row.Scan(&c.ID, &c.Name, &c.EmailEnc, &c.EmailBidx, &c.PhoneEnc, &c.Company, &c.CreatedAt, &c.UpdatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return c, ErrNotFound
	}
	return c, err
}

// InsertCustomer stores a new customer.
func (s *Store) InsertCustomer(ctx context.Context, q Querier, c Customer) error {
	_, err := q.ExecContext(ctx, s.q(`INSERT INTO customers (`+customerCols+`) VALUES (?,?,?,?,?,?,?,?)`),
		c.ID, c.Name, c.EmailEnc, c.EmailBidx, c.PhoneEnc, c.Company, c.CreatedAt, c.UpdatedAt)
	if err != nil {
		return fmt.Errorf("store: insert customer: %w", err)
	}
	return nil
}

// GetCustomer returns one customer or ErrNotFound.
func (s *Store) GetCustomer(ctx context.Context, id string) (Customer, error) {
	return s.getCustomer(ctx, s.DB, id, "")
}

// GetCustomerForUpdate reads a customer inside tx and locks its row until
// tx ends, so a read-modify-write cannot lose a concurrent update.
// (SQLite transactions here hold the database's write lock already.)
func (s *Store) GetCustomerForUpdate(ctx context.Context, tx *sql.Tx, id string) (Customer, error) {
	lock := ""
	if s.Dialect == Postgres {
		lock = " FOR UPDATE"
	}
	return s.getCustomer(ctx, tx, id, lock)
}

func (s *Store) getCustomer(ctx context.Context, q Querier, id, suffix string) (Customer, error) {
	c, err := scanCustomer(q.QueryRowContext(ctx, s.q(`SELECT `+customerCols+` FROM customers WHERE id = ?`+suffix), id))
	if err != nil && !errors.Is(err, ErrNotFound) {
		return c, fmt.Errorf("store: get customer: %w", err)
	}
	return c, err
}

// CustomersByEmailIndex returns the customers whose email blind index is
// bidx. A blind index may collide, so callers decrypt and compare.
func (s *Store) CustomersByEmailIndex(ctx context.Context, bidx string) ([]Customer, error) {
	return s.customers(ctx, "find customers", `email_bidx = ?`, bidx)
}

// customers returns the customers matching where, oldest first.
func (s *Store) customers(ctx context.Context, what, where string, args ...any) ([]Customer, error) {
	rows, err := s.DB.QueryContext(ctx, s.q(`SELECT `+customerCols+` FROM customers WHERE `+where+` ORDER BY created_at`), args...)
	if err != nil {
		return nil, fmt.Errorf("store: %s: %w", what, err)
	}
	defer rows.Close()
	var out []Customer
	for rows.Next() {
		c, err := scanCustomer(rows)
		if err != nil {
			return nil, fmt.Errorf("store: %s: %w", what, err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// CustomersWithEmailIndexNotPrefixed returns the customers whose email
// blind index does not start with prefix (the current index's width tag):
// rows written with an index of another size, which a re-index rewrites.
func (s *Store) CustomersWithEmailIndexNotPrefixed(ctx context.Context, prefix string) ([]Customer, error) {
	return s.customers(ctx, "find customers to re-index", `substr(email_bidx, 1, ?) <> ?`, len(prefix), prefix)
}

// ReplaceEmailIndex sets a customer's email blind index to bidx if it is
// still old, so that a concurrent update (or another instance re-indexing)
// is never overwritten.
func (s *Store) ReplaceEmailIndex(ctx context.Context, id, old, bidx string) error {
	if _, err := s.DB.ExecContext(ctx, s.q(`UPDATE customers SET email_bidx = ? WHERE id = ? AND email_bidx = ?`), bidx, id, old); err != nil {
		return fmt.Errorf("store: re-index customer: %w", err)
	}
	return nil
}

// UpdateCustomer replaces a customer's mutable fields; ErrNotFound if absent.
func (s *Store) UpdateCustomer(ctx context.Context, q Querier, c Customer) error {
	res, err := q.ExecContext(ctx, s.q(`UPDATE customers SET name = ?, email_enc = ?, email_bidx = ?, phone_enc = ?, company = ?, updated_at = ? WHERE id = ?`),
		c.Name, c.EmailEnc, c.EmailBidx, c.PhoneEnc, c.Company, c.UpdatedAt, c.ID)
	return affected(res, err, "update customer")
}

// DeleteCustomer removes a customer and its licences; ErrNotFound if
// absent, ErrHasOrders if it has orders.
func (s *Store) DeleteCustomer(ctx context.Context, q Querier, id string) error {
	var orders int
	if err := q.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM orders WHERE customer_id = ?`), id).Scan(&orders); err != nil {
		return fmt.Errorf("store: delete customer: %w", err)
	}
	if orders > 0 {
		return ErrHasOrders
	}
	res, err := q.ExecContext(ctx, s.q(`DELETE FROM customers WHERE id = ?`), id)
	return affected(res, err, "delete customer")
}

func affected(res sql.Result, err error, what string) error {
	if err != nil {
		return fmt.Errorf("store: %s: %w", what, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("store: %s: %w", what, err)
	}
	if n == 0 {
		return ErrNotFound
	}
	return nil
}

// InsertLicense stores a licence.
func (s *Store) InsertLicense(ctx context.Context, q Querier, l License) error {
	_, err := q.ExecContext(ctx, s.q(`INSERT INTO licenses (id, customer_id, product, seats, expires_at, created_at) VALUES (?,?,?,?,?,?)`),
		l.ID, l.CustomerID, l.Product, l.Seats, l.ExpiresAt, l.CreatedAt)
	if err != nil {
		return fmt.Errorf("store: insert license: %w", err)
	}
	return nil
}

const licenseCols = `id, customer_id, product, seats, expires_at, created_at`

func scanLicense(row interface{ Scan(...any) error }) (License, error) {
	var l License
	err := row.Scan(&l.ID, &l.CustomerID, &l.Product, &l.Seats, &l.ExpiresAt, &l.CreatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return l, ErrNotFound
	}
	return l, err
}

// GetLicense returns one licence or ErrNotFound.
func (s *Store) GetLicense(ctx context.Context, id string) (License, error) {
	l, err := scanLicense(s.DB.QueryRowContext(ctx, s.q(`SELECT `+licenseCols+` FROM licenses WHERE id = ?`), id))
	if err != nil && !errors.Is(err, ErrNotFound) {
		return l, fmt.Errorf("store: get license: %w", err)
	}
	return l, err
}

// LicensesOf returns a customer's licences, oldest first.
func (s *Store) LicensesOf(ctx context.Context, customerID string) ([]License, error) {
	rows, err := s.DB.QueryContext(ctx, s.q(`SELECT `+licenseCols+` FROM licenses WHERE customer_id = ? ORDER BY created_at, id`), customerID)
	if err != nil {
		return nil, fmt.Errorf("store: list licenses: %w", err)
	}
	defer rows.Close()
	out := []License{}
	for rows.Next() {
		l, err := scanLicense(rows)
		if err != nil {
			return nil, fmt.Errorf("store: list licenses: %w", err)
		}
		out = append(out, l)
	}
	return out, rows.Err()
}

// InsertOrderTx stores an order and its lines inside tx, so the caller can
// commit them together with the idempotency record.
//
// An order whose IdempotencyKey is already taken is refused by the
// database's unique index; the caller tells that apart with
// OrderByIdempotencyKey after rolling back (PostgreSQL aborts the
// transaction on the violation, so it cannot be asked inside it).
func (s *Store) InsertOrderTx(ctx context.Context, tx *sql.Tx, o Order) error {
	var key any // NULL: orders without a key do not collide
	if o.IdempotencyKey != "" {
		key = o.IdempotencyKey
	}
	if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO orders (id, customer_id, currency, total_cents, status, payment_id, created_at, idempotency_key) VALUES (?,?,?,?,?,?,?,?)`),
		o.ID, o.CustomerID, o.Currency, o.TotalCents, o.Status, o.PaymentID, o.CreatedAt, key); err != nil {
		return fmt.Errorf("store: insert order: %w", err)
	}
	for i, it := range o.Items {
		if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO order_items (order_id, line, sku, qty, unit_price_cents) VALUES (?,?,?,?,?)`),
			o.ID, i+1, it.SKU, it.Qty, it.UnitPriceCents); err != nil {
			return fmt.Errorf("store: insert order item: %w", err)
		}
	}
	return nil
}

// GetOrder returns one order with its lines, or ErrNotFound.
func (s *Store) GetOrder(ctx context.Context, id string) (Order, error) {
	return s.getOrder(ctx, `id = ?`, id)
}

// OrderByIdempotencyKey returns the order placed under key (see
// Order.IdempotencyKey), or ErrNotFound.
func (s *Store) OrderByIdempotencyKey(ctx context.Context, key string) (Order, error) {
	if key == "" {
		return Order{}, ErrNotFound
	}
	return s.getOrder(ctx, `idempotency_key = ?`, key)
}

func (s *Store) getOrder(ctx context.Context, where string, arg string) (Order, error) {
	var o Order
	var key sql.NullString
	err := s.DB.QueryRowContext(ctx, s.q(`SELECT id, customer_id, currency, total_cents, status, payment_id, created_at, idempotency_key FROM orders WHERE `+where), arg).
		Scan(&o.ID, &o.CustomerID, &o.Currency, &o.TotalCents, &o.Status, &o.PaymentID, &o.CreatedAt, &key)
	if errors.Is(err, sql.ErrNoRows) {
		return o, ErrNotFound
	}
	if err != nil {
		return o, fmt.Errorf("store: get order: %w", err)
	}
	o.IdempotencyKey = key.String
	rows, err := s.DB.QueryContext(ctx, s.q(`SELECT sku, qty, unit_price_cents FROM order_items WHERE order_id = ? ORDER BY line`), o.ID)
	if err != nil {
		return o, fmt.Errorf("store: get order items: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var it OrderItem
		if err := rows.Scan(&it.SKU, &it.Qty, &it.UnitPriceCents); err != nil {
			return o, fmt.Errorf("store: get order items: %w", err)
		}
		o.Items = append(o.Items, it)
	}
	return o, rows.Err()
}

// SalesRow is one line of the sales report: orders and revenue per currency.
type SalesRow struct {
	Currency   string `json:"currency"`
	Orders     int64  `json:"orders"`
	TotalCents int64  `json:"total_cents"`
}

// Sales aggregates paid orders created in [from, to) (Unix milliseconds).
func (s *Store) Sales(ctx context.Context, from, to int64) ([]SalesRow, error) {
	rows, err := s.DB.QueryContext(ctx, s.q(`SELECT currency, COUNT(*), COALESCE(SUM(total_cents), 0) FROM orders
		WHERE status = 'paid' AND created_at >= ? AND created_at < ? GROUP BY currency ORDER BY currency`), from, to)
	if err != nil {
		return nil, fmt.Errorf("store: sales report: %w", err)
	}
	defer rows.Close()
	out := []SalesRow{}
	for rows.Next() {
		var r SalesRow
		if err := rows.Scan(&r.Currency, &r.Orders, &r.TotalCents); err != nil {
			return nil, fmt.Errorf("store: sales report: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}
