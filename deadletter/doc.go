// Package deadletter defines Strata's dead-letter records and reads and
// replays them.
package deadletter
