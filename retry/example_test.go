package retry_test

import (
	"fmt"
	"time"

	"github.com/strata-go/strata/retry"
)

// A policy's due times, from the time an attempt failed.
func ExamplePolicy_Next() {
	p, err := retry.Policy{
		Backoff:     retry.Exponential(100*time.Millisecond, 2),
		MaxAttempts: 5,
		MaxDelay:    time.Second,
	}.WithDefaults()
	if err != nil {
		panic(err)
	}
	failed := time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)
	for attempt := 0; ; attempt++ {
		due, ok := p.Next(attempt, failed)
		if !ok {
			fmt.Printf("attempt %d failed: to the dead set\n", attempt)
			break
		}
		fmt.Printf("attempt %d failed: retry %d after %v\n", attempt, attempt+1, due.Sub(failed))
	}
	// Output:
	// attempt 0 failed: retry 1 after 100ms
	// attempt 1 failed: retry 2 after 200ms
	// attempt 2 failed: retry 3 after 400ms
	// attempt 3 failed: retry 4 after 800ms
	// attempt 4 failed: to the dead set
}

// The retry topic of a handler.
func ExampleTopic() {
	fmt.Println(retry.Topic("payments", "reverse"))
	// Output: payments-reverse-retry
}
