package commitmeta

import "testing"

func TestRoundTrip(t *testing.T) {
	if task, ok := Task(Encode("2_17")); !ok || task != "2_17" {
		t.Errorf("Task(Encode(2_17)) = %q, %v", task, ok)
	}
	for _, meta := range []string{"", "member-1-abc", "strata:task="} {
		if task, ok := Task(meta); ok {
			t.Errorf("Task(%q) = %q, true; want false", meta, task)
		}
	}
}
