package app

import (
	"database/sql"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/keel-go/keel/audit"
	"github.com/keel-go/keel/examples/salesapi/store"
)

type license struct {
	ID         string    `json:"id"`
	CustomerID string    `json:"customer_id"`
	Product    string    `json:"product"`
	Seats      int       `json:"seats"`
	ExpiresAt  time.Time `json:"expires_at"`
	CreatedAt  time.Time `json:"created_at"`
}

func licenseView(l store.License) license {
	return license{ID: l.ID, CustomerID: l.CustomerID, Product: l.Product, Seats: l.Seats,
		ExpiresAt: time.UnixMilli(l.ExpiresAt).UTC(), CreatedAt: time.UnixMilli(l.CreatedAt).UTC()}
}

func (a *App) createLicense(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Product   string    `json:"product"`
		Seats     int       `json:"seats"`
		ExpiresAt time.Time `json:"expires_at"`
	}
	if !decodeJSON(w, r, &in) {
		return
	}
	var v validation
	in.Product = strings.TrimSpace(in.Product)
	v.check(in.Product != "" && len(in.Product) <= 100, "product", "must be 1 to 100 characters")
	v.check(in.Seats >= 1 && in.Seats <= 100_000, "seats", "must be 1 to 100000")
	v.check(in.ExpiresAt.After(time.Now()), "expires_at", "must be an RFC 3339 time in the future")
	if v.answer(w) {
		return
	}
	customerID := r.PathValue("id")
	if _, err := a.loadCustomer(r.Context(), customerID); errors.Is(err, store.ErrNotFound) {
		problem(w, http.StatusNotFound, CodeNotFound, "no customer with this id")
		return
	} else if err != nil {
		a.internal(w, r, "create license", err)
		return
	}
	now := time.Now().UTC()
	l := store.License{ID: newID("lic_"), CustomerID: customerID, Product: in.Product, Seats: in.Seats,
		ExpiresAt: in.ExpiresAt.UnixMilli(), CreatedAt: now.UnixMilli()}
	err := a.store.InTx(r.Context(), func(tx *sql.Tx) error {
		if err := a.store.InsertLicense(r.Context(), tx, l); err != nil {
			return err
		}
		return a.auditEvent(r, audit.Event{Action: "license.create", Resource: audit.Resource{Type: "license", ID: l.ID}, Outcome: audit.Success,
			After: map[string]any{"customer_id": customerID, "product": l.Product, "seats": l.Seats, "expires_at": in.ExpiresAt}})
	})
	if err != nil {
		a.mutationFailed(w, r, "license", err)
		return
	}
	w.Header().Set("Location", "/v1/licenses/"+l.ID)
	writeJSON(w, http.StatusCreated, licenseView(l))
}

func (a *App) getLicense(w http.ResponseWriter, r *http.Request) {
	l, err := a.store.GetLicense(r.Context(), r.PathValue("id"))
	if errors.Is(err, store.ErrNotFound) {
		problem(w, http.StatusNotFound, CodeNotFound, "no license with this id")
		return
	}
	if err != nil {
		a.internal(w, r, "get license", err)
		return
	}
	writeJSON(w, http.StatusOK, licenseView(l))
}

func (a *App) listLicenses(w http.ResponseWriter, r *http.Request) {
	rows, err := a.store.LicensesOf(r.Context(), r.PathValue("id"))
	if err != nil {
		a.internal(w, r, "list licenses", err)
		return
	}
	out := make([]license, len(rows))
	for i, l := range rows {
		out[i] = licenseView(l)
	}
	writeJSON(w, http.StatusOK, map[string]any{"licenses": out})
}
