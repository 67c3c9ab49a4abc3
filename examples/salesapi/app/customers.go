package app

import (
	"context"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/keel-go/keel/audit"
	"github.com/keel-go/keel/crypto/field"
	"github.com/keel-go/keel/crypto/mask"
	"github.com/keel-go/keel/examples/salesapi/store"
)

// customer is a customer in clear, as held in the process (cache included)
// and never at rest. Email and phone are personal data of reveal class
// "pii": the masking policy shows them in clear to admins only.
type customer struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Email     string    `json:"email" mask:"email,reveal=pii"`
	Phone     string    `json:"phone" mask:"phone,reveal=pii"`
	Company   string    `json:"company"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// newMaskingPolicy is who sees what in clear: admins see class "pii"; the
// sales role sees it masked (j***@example.com, ***4567). Each response that
// shows PII in clear is logged with the key that saw it; a deployment that
// must keep a PII access trail writes an audit event here instead.
func newMaskingPolicy(logger *slog.Logger) (*mask.Policy, error) {
	return mask.NewPolicy(mask.PolicyConfig{
		Reveal: map[string][]string{string(RoleAdmin): {"pii"}},
		Audit: func(ctx context.Context, r mask.Revealed) {
			p, _ := ctx.Value(principalKey{}).(principal)
			fields := make([]string, len(r.Fields))
			for i, f := range r.Fields {
				fields[i] = f.Path
			}
			logger.InfoContext(ctx, "personal data shown in clear", "principal", p.ID, "role", r.Role, "fields", fields)
		},
	})
}

// view is what the caller of r may see of v under the masking policy.
func view[T any](a *App, r *http.Request, v T) (T, error) {
	return mask.View(mask.WithRole(r.Context(), string(principalOf(r).Role)), a.masking, v)
}

// writeView answers v as the caller of r may see it.
func writeView[T any](a *App, w http.ResponseWriter, r *http.Request, status int, v T) {
	shown, err := view(a, r, v)
	if err != nil {
		a.internal(w, r, "masking", err) // fail closed: nothing is sent
		return
	}
	writeJSON(w, status, shown)
}

// expectedCustomers is the number of customers the email blind index is
// sized for.
const expectedCustomers = 100_000

// newEmailIndex sizes the email blind index with field.SafeIndexBits: the
// most bits its rule allows for expectedCustomers rows (15 for 100 000), so
// that every index value is still shared by a few customers and does not
// single one out, while a search narrows the candidates to a handful.
func newEmailIndex(root field.Secret[[]byte]) (*field.BlindIndex, error) {
	_, bits, ok := field.SafeIndexBits(expectedCustomers)
	if !ok {
		return nil, fmt.Errorf("salesapi: no safe blind index size for %d customers", expectedCustomers)
	}
	return field.NewBlindIndex(field.IndexConfig{Key: root, Name: "customers.email", Bits: bits, Normalize: field.NormalizeEmail})
}

// reindexEmails rewrites the email blind index of customers stored with an
// index of another width (earlier versions kept 32 bits, untagged), so that
// search finds them and no row keeps a wider, more revealing index. Index
// values are tagged with their width (emailIndex), so any resize is found,
// even between widths of the same hex length. A row whose email cannot be
// decrypted (damaged, or under a retired key) is left as it is and logged
// by id, never by content; the service starts all the same, and the next
// start tries again.
func (a *App) reindexEmails(ctx context.Context) error {
	rows, err := a.store.CustomersWithEmailIndexNotPrefixed(ctx, a.emailIndexPrefix())
	if err != nil {
		return err
	}
	done, skipped := 0, 0
	for _, row := range rows {
		c, err := a.open(row)
		if err != nil {
			skipped++
			a.cfg.Logger.WarnContext(ctx, "customer left out of the email re-index: its email cannot be decrypted",
				"customer", row.ID, "error", err.Error())
			continue
		}
		if err := a.store.ReplaceEmailIndex(ctx, row.ID, row.EmailBidx, a.emailIndex(c.Email)); err != nil {
			return err
		}
		done++
	}
	if done > 0 {
		a.cfg.Logger.InfoContext(ctx, "email blind index resized", "customers", done, "bits", a.emailIdx.Bits())
	}
	if skipped > 0 {
		a.cfg.Logger.WarnContext(ctx, "email re-index left customers out", "customers", skipped,
			"hint", "their search index is stale until their email is rewritten or the key that encrypted it is restored")
	}
	return nil
}

func emailContext(id string) []byte { return field.Context("customers", "email", id) }
func phoneContext(id string) []byte { return field.Context("customers", "phone", id) }

// seal turns a customer into its row: email and phone encrypted under
// contexts bound to the row, and the email's blind index.
func (a *App) seal(c customer) (store.Customer, error) {
	email, err := a.keys.ring.Encrypt([]byte(c.Email), emailContext(c.ID))
	if err != nil {
		return store.Customer{}, err
	}
	phone, err := a.keys.ring.Encrypt([]byte(c.Phone), phoneContext(c.ID))
	if err != nil {
		return store.Customer{}, err
	}
	return store.Customer{
		ID: c.ID, Name: c.Name, EmailEnc: email, EmailBidx: a.emailIndex(c.Email), PhoneEnc: phone,
		Company: c.Company, CreatedAt: c.CreatedAt.UnixMilli(), UpdatedAt: c.UpdatedAt.UnixMilli(),
	}, nil
}

// emailIndex is the email's blind index as stored: the index's width in
// bits, a colon and the hex of its value ("15:3fa2"), so that rows written
// at another width are found by reindexEmails.
func (a *App) emailIndex(email string) string {
	return a.emailIndexPrefix() + hex.EncodeToString(a.emailIdx.Sum(email))
}

func (a *App) emailIndexPrefix() string { return strconv.Itoa(a.emailIdx.Bits()) + ":" }

// open decrypts a row.
func (a *App) open(row store.Customer) (customer, error) {
	email, err := a.keys.ring.Decrypt(row.EmailEnc, emailContext(row.ID))
	if err != nil {
		return customer{}, err
	}
	phone, err := a.keys.ring.Decrypt(row.PhoneEnc, phoneContext(row.ID))
	if err != nil {
		return customer{}, err
	}
	return customer{ID: row.ID, Name: row.Name, Email: string(email), Phone: string(phone), Company: row.Company,
		CreatedAt: time.UnixMilli(row.CreatedAt).UTC(), UpdatedAt: time.UnixMilli(row.UpdatedAt).UTC()}, nil
}

// loadCustomer reads through the cache: concurrent misses for one id make
// one database read, and a missing id is remembered briefly. The cache holds
// the sealed row; it is opened here.
func (a *App) loadCustomer(ctx context.Context, id string) (customer, error) {
	row, err := a.customers.GetOrLoad(ctx, id, a.store.GetCustomer)
	if err != nil {
		return customer{}, err
	}
	return a.open(row)
}

func (a *App) forgetCustomer(ctx context.Context, id string) {
	a.forget(context.WithoutCancel(ctx), id)
}

type customerInput struct {
	Name    *string `json:"name"`
	Email   *string `json:"email"`
	Phone   *string `json:"phone"`
	Company *string `json:"company"`
}

// validate checks the fields present; required says every field must be.
func (in customerInput) validate(required bool) validation {
	var v validation
	text := func(p *string, name string, maxLen int) {
		if p == nil {
			v.check(!required, name, "is required")
			return
		}
		s := strings.TrimSpace(*p)
		v.check(s != "" && utf8.RuneCountInString(s) <= maxLen, name, "must be 1 to "+itoa(maxLen)+" characters")
	}
	text(in.Name, "name", 200)
	text(in.Company, "company", 200)
	if in.Email == nil {
		v.check(!required, "email", "is required")
	} else {
		at := strings.LastIndexByte(*in.Email, '@')
		v.check(len(*in.Email) <= 254 && at > 0 && at < len(*in.Email)-3 && !strings.ContainsAny(*in.Email, " \t\r\n"),
			"email", "must be an email address")
	}
	if in.Phone == nil {
		v.check(!required, "phone", "is required")
	} else {
		digits := field.NormalizeDigits(*in.Phone)
		v.check(len(digits) >= 6 && len(digits) <= 15 && len(*in.Phone) <= 32, "phone", "must have 6 to 15 digits")
	}
	return v
}

func (a *App) createCustomer(w http.ResponseWriter, r *http.Request) {
	var in customerInput
	if !decodeJSON(w, r, &in) || in.validate(true).answer(w) {
		return
	}
	now := time.Now().UTC().Truncate(time.Millisecond)
	c := customer{ID: newID("cus_"), Name: strings.TrimSpace(*in.Name), Email: strings.TrimSpace(*in.Email),
		Phone: strings.TrimSpace(*in.Phone), Company: strings.TrimSpace(*in.Company), CreatedAt: now, UpdatedAt: now}
	row, err := a.seal(c)
	if err == nil {
		err = a.store.InTx(r.Context(), func(tx *sql.Tx) error {
			if err := a.store.InsertCustomer(r.Context(), tx, row); err != nil {
				return err
			}
			return a.auditEvent(r, audit.Event{Action: "customer.create", Resource: audit.Resource{Type: "customer", ID: c.ID},
				Outcome: audit.Success, After: customerFields(c)})
		})
	}
	if err != nil {
		a.mutationFailed(w, r, "customer", err)
		return
	}
	w.Header().Set("Location", "/v1/customers/"+c.ID)
	writeView(a, w, r, http.StatusCreated, c)
}

func customerFields(c customer) map[string]any {
	return map[string]any{"name": c.Name, "email": c.Email, "phone": c.Phone, "company": c.Company}
}

func (a *App) getCustomer(w http.ResponseWriter, r *http.Request) {
	c, err := a.loadCustomer(r.Context(), r.PathValue("id"))
	if errors.Is(err, store.ErrNotFound) {
		problem(w, http.StatusNotFound, CodeNotFound, "no customer with this id")
		return
	}
	if err != nil {
		a.internal(w, r, "get customer", err)
		return
	}
	writeView(a, w, r, http.StatusOK, c)
}

// customerList is the answer of a search.
type customerList struct {
	Customers []customer `json:"customers"`
}

// findCustomers answers GET /v1/customers?email=: the blind index narrows the
// rows, decryption removes its false positives.
func (a *App) findCustomers(w http.ResponseWriter, r *http.Request) {
	email := r.URL.Query().Get("email")
	if email == "" {
		writeProblem(w, Problem{Status: http.StatusUnprocessableEntity, Code: CodeInvalid, Detail: "invalid fields: email",
			Fields: []FieldError{{Field: "email", Message: "query parameter is required"}}})
		return
	}
	rows, err := a.store.CustomersByEmailIndex(r.Context(), a.emailIndex(email))
	if err != nil {
		a.internal(w, r, "find customers", err)
		return
	}
	want := field.NormalizeEmail(email)
	out := []customer{}
	for _, row := range rows {
		c, err := a.open(row)
		if err != nil {
			a.internal(w, r, "find customers", err)
			return
		}
		if field.NormalizeEmail(c.Email) == want {
			out = append(out, c)
		}
	}
	writeView(a, w, r, http.StatusOK, customerList{Customers: out})
}

func (a *App) updateCustomer(w http.ResponseWriter, r *http.Request) {
	var in customerInput
	if !decodeJSON(w, r, &in) || in.validate(false).answer(w) {
		return
	}
	id := r.PathValue("id")
	var after customer
	// Read, change and write in one transaction holding the row, so that two
	// concurrent PATCHes of different fields both land, and the audit
	// event's Before is what was really replaced.
	err := a.store.InTx(r.Context(), func(tx *sql.Tx) error {
		row, err := a.store.GetCustomerForUpdate(r.Context(), tx, id)
		if err != nil {
			return err
		}
		before, err := a.open(row)
		if err != nil {
			return err
		}
		after = before
		for dst, src := range map[*string]*string{&after.Name: in.Name, &after.Email: in.Email, &after.Phone: in.Phone, &after.Company: in.Company} {
			if src != nil {
				*dst = strings.TrimSpace(*src)
			}
		}
		after.UpdatedAt = time.Now().UTC().Truncate(time.Millisecond)
		if row, err = a.seal(after); err != nil {
			return err
		}
		if err := a.store.UpdateCustomer(r.Context(), tx, row); err != nil {
			return err
		}
		return a.auditEvent(r, audit.Event{Action: "customer.update", Resource: audit.Resource{Type: "customer", ID: id},
			Outcome: audit.Success, Before: customerFields(before), After: customerFields(after)})
	})
	a.forgetCustomer(r.Context(), id)
	if err != nil {
		a.mutationFailed(w, r, "customer", err)
		return
	}
	writeView(a, w, r, http.StatusOK, after)
}

func (a *App) deleteCustomer(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	err := a.store.InTx(r.Context(), func(tx *sql.Tx) error {
		if err := a.store.DeleteCustomer(r.Context(), tx, id); err != nil {
			return err
		}
		return a.auditEvent(r, audit.Event{Action: "customer.delete", Resource: audit.Resource{Type: "customer", ID: id}, Outcome: audit.Success})
	})
	a.forgetCustomer(r.Context(), id)
	if err != nil {
		a.mutationFailed(w, r, "customer", err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
