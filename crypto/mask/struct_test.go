package mask

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type address struct {
	Street string `mask:"redact"`
	City   string
}

type customer struct {
	ID       int
	Name     string   `mask:"name"`
	Email    string   `mask:"email"`
	Phones   []string `mask:"phone"`
	Card     *string  `mask:"card"`
	Home     address
	Previous []*address
	Notes    map[string]string `mask:"text"`
	Score    float64           `mask:"redact"`
	Any      any               `mask:"email"`
	Since    time.Time
	internal string
}

func TestStructReturnsMaskedCopyAndNeverMutates(t *testing.T) {
	card := "4111 1111 1111 1111"
	in := customer{
		ID: 7, Name: "Ann Smith", Email: "ann@example.com",
		Phones:   []string{"+49 151 1234 5678", "(555) 123-4567"},
		Card:     &card,
		Home:     address{Street: "1 Main St", City: "Springfield"},
		Previous: []*address{{Street: "2 Old Rd", City: "Shelbyville"}, nil},
		Notes:    map[string]string{"support": "wrote from bob@example.org"},
		Score:    0.9, Any: "x@example.com",
		Since:    time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC),
		internal: "kept",
	}
	out, err := Struct(in)
	require.NoError(t, err)

	assert.Equal(t, 7, out.ID)
	assert.Equal(t, "A*** S***", out.Name)
	assert.Equal(t, "a***@example.com", out.Email)
	assert.Equal(t, []string{"***5678", "***4567"}, out.Phones)
	assert.Equal(t, "411111******1111", *out.Card)
	assert.Equal(t, address{Street: Redacted, City: "Springfield"}, out.Home)
	assert.Equal(t, Redacted, out.Previous[0].Street)
	assert.Nil(t, out.Previous[1])
	assert.Equal(t, "wrote from b***@example.org", out.Notes["support"])
	assert.Zero(t, out.Score)
	assert.Equal(t, "x***@example.com", out.Any)
	assert.True(t, in.Since.Equal(out.Since))
	assert.Equal(t, "kept", out.internal)

	// The input is untouched, down to the shared pointers, slices and maps.
	assert.Equal(t, "ann@example.com", in.Email)
	assert.Equal(t, "+49 151 1234 5678", in.Phones[0])
	assert.Equal(t, "4111 1111 1111 1111", card)
	assert.Equal(t, "2 Old Rd", in.Previous[0].Street)
	assert.Equal(t, "wrote from bob@example.org", in.Notes["support"])
	assert.Equal(t, 0.9, in.Score)

	ptr, err := Struct(&in)
	require.NoError(t, err)
	assert.Equal(t, "a***@example.com", ptr.Email)
	assert.Equal(t, "ann@example.com", in.Email)
}

func TestStructErrorsNameTheField(t *testing.T) {
	type badRule struct {
		Email string `mask:"emial"`
	}
	type onInt struct {
		Age int `mask:"email"`
	}
	type unexported struct {
		secret string `mask:"redact"`
	}
	type node struct {
		Next *node
		Name string `mask:"name"`
	}
	cyclic := &node{Name: "a"}
	cyclic.Next = cyclic

	_, err := Struct(badRule{Email: "a@b.c"})
	assert.ErrorContains(t, err, `mask: mask.badRule.Email: unknown rule "emial"`)
	_, err = Struct(onInt{Age: 3})
	assert.ErrorContains(t, err, `onInt.Age: rule "email" applies to strings, not int`)
	got, err := Struct(unexported{secret: "s"})
	assert.ErrorContains(t, err, "unexported field")
	assert.Empty(t, got.secret, "on error the zero value is returned, never the input")
	_, err = Struct(cyclic)
	assert.ErrorContains(t, err, "mask: *mask.node.Next: a cycle")
}
