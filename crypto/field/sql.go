package field

import (
	"database/sql/driver"
	"errors"
	"fmt"
)

// Cipher is what the database/sql types need: a Ring, or anything that
// encrypts and decrypts values bound to a context the same way.
type Cipher interface {
	Encrypt(plaintext, context []byte) ([]byte, error)
	Decrypt(ciphertext, context []byte) ([]byte, error)
}

// String is an encrypted string column for database/sql: Value encrypts
// Plain under Cipher with Context, Scan decrypts into Plain. Set Cipher and
// Context (and Text for TEXT columns) before Scan or Exec:
//
//	email := field.String{Cipher: ring, Context: field.Context("customers", "email", id)}
//	err := db.QueryRowContext(ctx, "SELECT email FROM customers WHERE id = $1", id).Scan(&email)
//
// Valid is false for SQL NULL (as sql.NullString). Plain is a Secret, so a
// logged String shows "[REDACTED]".
type String struct {
	Cipher  Cipher
	Context []byte
	Plain   Secret[string]
	Valid   bool
	// Text stores the text form (EncodeText) instead of bytes, for TEXT or
	// VARCHAR columns. Scan accepts either form whatever Text says.
	Text bool
}

// Bytes is String for binary plaintexts.
type Bytes struct {
	Cipher  Cipher
	Context []byte
	Plain   Secret[[]byte]
	Valid   bool
	Text    bool
}

// NewString returns a valid String holding plain.
func NewString(c Cipher, context []byte, plain string) String {
	return String{Cipher: c, Context: context, Plain: NewSecret(plain), Valid: true}
}

// Value implements driver.Valuer.
func (s String) Value() (driver.Value, error) {
	if !s.Valid {
		return nil, nil
	}
	return sqlValue(s.Cipher, []byte(s.Plain.Reveal()), s.Context, s.Text)
}

// Scan implements sql.Scanner.
func (s *String) Scan(src any) error {
	pt, valid, err := sqlScan(s.Cipher, src, s.Context)
	if err != nil {
		return err
	}
	s.Plain, s.Valid = NewSecret(string(pt)), valid
	return nil
}

// Format prints the String redacted, whatever the verb.
func (s String) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(Redacted)) }

// Value implements driver.Valuer.
func (b Bytes) Value() (driver.Value, error) {
	if !b.Valid {
		return nil, nil
	}
	return sqlValue(b.Cipher, b.Plain.Reveal(), b.Context, b.Text)
}

// Scan implements sql.Scanner.
func (b *Bytes) Scan(src any) error {
	pt, valid, err := sqlScan(b.Cipher, src, b.Context)
	if err != nil {
		return err
	}
	b.Plain, b.Valid = NewSecret(pt), valid
	return nil
}

// Format prints the Bytes redacted, whatever the verb.
func (b Bytes) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(Redacted)) }

var errNoCipher = errors.New("field: String/Bytes used without a Cipher")

func sqlValue(c Cipher, plain, context []byte, text bool) (driver.Value, error) {
	if c == nil {
		return nil, errNoCipher
	}
	ct, err := c.Encrypt(plain, context)
	if err != nil {
		return nil, err
	}
	if text {
		return EncodeText(ct), nil
	}
	return ct, nil
}

func sqlScan(c Cipher, src any, context []byte) (plain []byte, valid bool, err error) {
	if c == nil {
		return nil, false, errNoCipher
	}
	var raw []byte
	switch v := src.(type) {
	case nil:
		return nil, false, nil
	case []byte:
		raw = v
	case string:
		raw = []byte(v)
	default:
		return nil, false, fmt.Errorf("field: cannot scan %T into an encrypted column", src)
	}
	// The binary form starts with a format byte (0x01, 0x02); the text form
	// starts with a base64url letter. Drivers hand TEXT columns over as
	// []byte too, so the first byte decides.
	if len(raw) > 0 && raw[0] >= 0x20 {
		if raw, err = DecodeText(string(raw)); err != nil {
			return nil, false, err
		}
	}
	pt, err := c.Decrypt(raw, context)
	if err != nil {
		return nil, false, err
	}
	return pt, true, nil
}
