package main

import (
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// View is one page view of the sample: who viewed which page, At after the
// start of the sample.
type View struct {
	User, Page string
	At         time.Duration
}

// min:sec as a duration, for the sample.
func ms(m, s int) time.Duration { return time.Duration(m)*time.Minute + time.Duration(s)*time.Second }

// Views are the sample's page views over five minutes, in the order they
// arrive. Most arrive in order; a few arrive late, some within the grace
// period, which are counted, and some after it, which are dropped.
var Views = []View{
	{"alice", "/home", ms(0, 5)},
	{"bob", "/docs", ms(0, 12)},
	{"carol", "/home", ms(0, 20)},
	{"alice", "/pricing", ms(0, 31)},
	{"dave", "/home", ms(0, 47)},
	{"bob", "/docs", ms(0, 58)},
	{"erin", "/home", ms(1, 2)},
	{"carol", "/pricing", ms(0, 55)}, // 7 s late, within grace: counted in minute 0
	{"alice", "/docs", ms(1, 9)},
	{"dave", "/home", ms(0, 59)}, // 10 s late, its window open until 1:10: counted
	{"bob", "/home", ms(1, 15)},
	{"erin", "/docs", ms(0, 50)}, // 25 s late, minute 0 closed at 1:10: dropped
	{"carol", "/docs", ms(1, 33)},
	{"alice", "/home", ms(1, 48)},
	{"dave", "/pricing", ms(2, 3)},
	{"bob", "/home", ms(1, 57)}, // 6 s late: counted in minute 1
	{"erin", "/home", ms(2, 25)},
	{"carol", "/docs", ms(2, 41)},
	{"alice", "/pricing", ms(2, 52)},
	{"bob", "/docs", ms(3, 8)},
	{"dave", "/home", ms(3, 14)},
	{"erin", "/home", ms(2, 55)}, // 19 s late, minute 2 closed at 3:10: dropped
	{"carol", "/home", ms(3, 36)},
	{"alice", "/docs", ms(3, 59)},
	{"bob", "/pricing", ms(4, 12)}, // closes minute 3; minute 4 stays open
}

// Records returns the sample as records for InputTopic, starting at start:
// the user as the key, the page as the value, the view's time as the
// timestamp.
func Records(start time.Time) []*kgo.Record {
	recs := make([]*kgo.Record, len(Views))
	for i, v := range Views {
		recs[i] = &kgo.Record{Topic: InputTopic, Key: []byte(v.User), Value: []byte(v.Page), Timestamp: start.Add(v.At)}
	}
	return recs
}

// Result is one page's count in one window.
type Result struct {
	Page  string
	Start time.Time // of the window, in UTC
}

// Expected works out what the topology writes for the sample starting at
// start, by the rules it follows rather than by running it: every window
// that has closed by the last view, with the views it accepted, and the
// number of views dropped for coming too late. Windows are aligned to the
// epoch, so start should be a whole minute.
func Expected(start time.Time) (results map[Result]int64, dropped int) {
	counts := map[Result]int64{}
	var streamTime time.Time
	for _, v := range Views {
		at := start.Add(v.At)
		if at.After(streamTime) {
			streamTime = at
		}
		w := at.Truncate(WindowSize).UTC()
		if !w.Add(WindowSize).After(streamTime.Add(-Grace)) {
			dropped++
			continue
		}
		counts[Result{v.Page, w}]++
	}
	results = map[Result]int64{}
	for r, n := range counts {
		if !r.Start.Add(WindowSize).After(streamTime.Add(-Grace)) {
			results[r] = n
		}
	}
	return results, dropped
}
