package sqlmetrics_test

import (
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		// database/sql's connection opener and go-sql-driver's connection
		// checker outlive a test until the pool is closed at cleanup.
		goleak.IgnoreTopFunction("database/sql.(*DB).connectionOpener"))
}
