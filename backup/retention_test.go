package backup_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/keel-go/keel/backup"
)

func snapsAt(times ...string) []backup.Snapshot {
	out := make([]backup.Snapshot, len(times))
	for i, s := range times {
		t, err := time.Parse("2006-01-02 15:04", s)
		if err != nil {
			panic(err)
		}
		out[i] = backup.Snapshot{ID: s, Time: t}
	}
	return out
}

func kept(ds []backup.Decision) []string {
	var ids []string
	for _, d := range ds {
		if d.Keep {
			ids = append(ids, d.ID)
		}
	}
	return ids
}

func TestApplyPolicyCalendarSemantics(t *testing.T) {
	// Two backups a day for ten days, at 03:00 and 15:00, Thu 2026-01-01 onward.
	var times []string
	for d := 1; d <= 10; d++ {
		times = append(times, fmt.Sprintf("2026-01-%02d 03:00", d), fmt.Sprintf("2026-01-%02d 15:00", d))
	}
	snaps := snapsAt(times...)
	cases := []struct {
		name   string
		policy backup.Policy
		want   []string
	}{
		{"last 3", backup.Policy{Last: 3}, []string{"2026-01-10 15:00", "2026-01-10 03:00", "2026-01-09 15:00"}},
		{"daily 3 keeps the newest of each day", backup.Policy{Daily: 3},
			[]string{"2026-01-10 15:00", "2026-01-09 15:00", "2026-01-08 15:00"}},
		// ISO weeks: Jan 5-11 is week 2; Jan 1-4 belongs to week 1 of 2026.
		{"weekly 2", backup.Policy{Weekly: 2}, []string{"2026-01-10 15:00", "2026-01-04 15:00"}},
		{"weekly 5 keeps the oldest too when periods run out", backup.Policy{Weekly: 5},
			[]string{"2026-01-10 15:00", "2026-01-04 15:00", "2026-01-01 03:00"}},
		{"monthly 1", backup.Policy{Monthly: 1}, []string{"2026-01-10 15:00"}},
		{"rules combine", backup.Policy{Last: 1, Daily: 2, Weekly: 2},
			[]string{"2026-01-10 15:00", "2026-01-09 15:00", "2026-01-04 15:00"}},
		{"unlimited daily", backup.Policy{Daily: -1}, func() []string {
			var w []string
			for d := 10; d >= 1; d-- {
				w = append(w, fmt.Sprintf("2026-01-%02d 15:00", d))
			}
			return w
		}()},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ds, err := backup.ApplyPolicy(snaps, tc.policy)
			require.NoError(t, err)
			assert.Equal(t, tc.want, kept(ds))
			assert.Len(t, ds, len(snaps))
		})
	}
}

func TestApplyPolicyYearsAndMonthsAcrossBoundaries(t *testing.T) {
	snaps := snapsAt("2024-12-31 23:00", "2025-01-01 01:00", "2025-06-15 12:00", "2025-12-31 23:59", "2026-01-01 00:00")
	ds, err := backup.ApplyPolicy(snaps, backup.Policy{Yearly: 2, Monthly: 2})
	require.NoError(t, err)
	// yearly: 2026, 2025 (newest of 2025 is 12-31); monthly: 2026-01, 2025-12.
	assert.Equal(t, []string{"2026-01-01 00:00", "2025-12-31 23:59"}, kept(ds))
	assert.Equal(t, []string{"monthly", "yearly"}, ds[0].Reasons)
}

func TestApplyPolicyLocation(t *testing.T) {
	// 23:30 UTC on the 1st is already the 2nd in Berlin: both fall on one day there.
	snaps := snapsAt("2026-03-01 23:30", "2026-03-02 08:00")
	utc, err := backup.ApplyPolicy(snaps, backup.Policy{Daily: 5})
	require.NoError(t, err)
	assert.Len(t, kept(utc), 2)
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skip("no tzdata for Europe/Berlin")
	}
	local, err := backup.ApplyPolicy(snaps, backup.Policy{Daily: 1, Location: berlin})
	require.NoError(t, err)
	assert.Equal(t, []string{"2026-03-02 08:00"}, kept(local))
}

func TestApplyPolicyNeverRemovesNewestVerified(t *testing.T) {
	snaps := snapsAt("2026-01-01 03:00", "2026-01-02 03:00", "2026-01-03 03:00")
	snaps[1].Verified = true
	ds, err := backup.ApplyPolicy(snaps, backup.Policy{Last: 1})
	require.NoError(t, err)
	assert.Equal(t, []string{"2026-01-03 03:00", "2026-01-02 03:00"}, kept(ds))
	assert.Equal(t, []string{"newest verified"}, ds[1].Reasons)
}

func TestApplyPolicyRejectsBadPolicies(t *testing.T) {
	_, err := backup.ApplyPolicy(nil, backup.Policy{})
	require.ErrorIs(t, err, backup.ErrNoPolicy)
	_, err = backup.ApplyPolicy(nil, backup.Policy{Daily: -2})
	require.ErrorContains(t, err, "Policy.Daily")
}
