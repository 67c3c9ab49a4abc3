package sqlstore

import (
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
)

type sqlStateError string

func (e sqlStateError) Error() string    { return "server said " + string(e) }
func (e sqlStateError) SQLState() string { return string(e) }

func TestIsDeadlock(t *testing.T) {
	tests := []struct {
		err  error
		want bool
	}{
		{fmt.Errorf("wrapped: %w", sqlStateError("40P01")), true}, // PostgreSQL deadlock_detected
		{sqlStateError("40001"), true},                            // serialization_failure
		{sqlStateError("23505"), false},                           // unique_violation
		{errors.New("Error 1213 (40001): Deadlock found when trying to get lock; try restarting transaction"), true},
		{errors.New("Error 1205 (HY000): Lock wait timeout exceeded; try restarting transaction"), true},
		{errors.New("Error 1062 (23000): Duplicate entry"), false},
		{errors.New("connection refused"), false},
	}
	for _, tc := range tests {
		assert.Equal(t, tc.want, isDeadlock(tc.err), tc.err.Error())
	}
}
