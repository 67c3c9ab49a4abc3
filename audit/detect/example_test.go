package detect_test

import (
	"context"
	"fmt"
	"log"

	"github.com/keel-go/keel/audit"
	"github.com/keel-go/keel/audit/detect"
)

func ExampleNew() {
	det, err := detect.New(detect.Config{
		Rules: []detect.Rule{&detect.BruteForce{Failures: 3}},
		Notifiers: []detect.Notifier{detect.NotifierFunc(func(_ context.Context, f detect.Finding) error {
			fmt.Println(f.Rule, f.ActorID, f.Detail)
			return nil
		})},
	})
	if err != nil {
		log.Fatal(err)
	}
	// Give det to audit.Config.Observer to watch a Logger's events; here
	// events are observed directly.
	for range 3 {
		det.Observe(audit.Event{Actor: audit.Actor{ID: "mallory"}, Action: "login", Outcome: audit.Denied})
	}
	_ = det.Close()
	// Output:
	// brute_force mallory 3 failed or denied actions within 5m0s
}
