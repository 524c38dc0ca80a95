package join_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/strata-go/strata/join"
	"github.com/strata-go/strata/kstream"
	"github.com/strata-go/strata/ktable"
	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/testutil"
	"github.com/strata-go/strata/topology"
)

// tableExampleT stands in for the *testing.T a test passes to
// testutil.NewDriver, so that the examples can run the driver: it panics
// where a test would fail.
type tableExampleT struct{ testing.TB }

func (tableExampleT) Helper()                           {}
func (tableExampleT) Cleanup(func())                    {}
func (tableExampleT) Fatalf(format string, args ...any) { panic(fmt.Sprintf(format, args...)) }
func (tableExampleT) Errorf(format string, args ...any) { panic(fmt.Sprintf(format, args...)) }

func tableExampleBuild(b *topology.Builder) *topology.Topology {
	top, err := b.Build()
	if err != nil {
		panic(err)
	}
	return top
}

func printTable(out *testutil.OutputTopic[string, string]) {
	for _, r := range out.ReadAll() {
		if r.NullValue {
			fmt.Println(r.Key, "deleted")
			continue
		}
		fmt.Println(r.Key, r.Value)
	}
}

// Enrich page views with the viewer's region: each view meets the region
// the table holds when it arrives; a view of an unknown user yields
// nothing in the inner join, and "unknown" in the left join.
func ExampleStreamTable() {
	b := topology.NewBuilder()
	views := kstream.From(b, "views", serde.String(), serde.String())
	regions := ktable.From(b, "regions", serde.String(), serde.String())
	join.StreamTable(views, regions, func(user, page, region string) string {
		return page + " from " + region
	}).To("enriched")
	join.StreamTableLeft(views, regions, func(user, page string, region *string) string {
		if region == nil {
			return page + " from unknown"
		}
		return page + " from " + *region
	}).To("enriched-all")

	d := testutil.NewDriver(tableExampleT{}, tableExampleBuild(b), testutil.Config{}) // in a test: pass t
	testutil.NewInputTopic(d, "regions", serde.String(), serde.String()).Pipe("ann", "eu")
	in := testutil.NewInputTopic(d, "views", serde.String(), serde.String())
	in.Pipe("ann", "/home")
	in.Pipe("bob", "/cart")
	printTable(testutil.NewOutputTopic(d, "enriched", serde.String(), serde.String()))
	printTable(testutil.NewOutputTopic(d, "enriched-all", serde.String(), serde.String()))
	// Output:
	// ann /home from eu
	// ann /home from eu
	// bob /cart from unknown
}

// A left join of two tables: every user has a row, with their email once
// there is one; deleting the email updates the row, deleting the user
// deletes it. Named keeps the result in a queryable store.
func ExampleTablesLeft() {
	b := topology.NewBuilder()
	users := ktable.From(b, "users", serde.String(), serde.String())
	emails := ktable.From(b, "emails", serde.String(), serde.String())
	join.TablesLeft(users, emails, func(id, name string, email *string) string {
		if email == nil {
			return name + " <none>"
		}
		return name + " <" + *email + ">"
	}, join.Named("contacts")).ToStream().To("contacts")

	d := testutil.NewDriver(tableExampleT{}, tableExampleBuild(b), testutil.Config{})
	u := testutil.NewInputTopic(d, "users", serde.String(), serde.String())
	e := testutil.NewInputTopic(d, "emails", serde.String(), serde.String())
	u.Pipe("u1", "Ann")
	e.Pipe("u1", "ann@example.com")
	e.PipeRecords(topology.Tombstone(topology.Record[string, string]{Key: "u1"}))
	u.PipeRecords(topology.Tombstone(topology.Record[string, string]{Key: "u1"}))
	printTable(testutil.NewOutputTopic(d, "contacts", serde.String(), serde.String()))
	// Output:
	// u1 Ann <none>
	// u1 Ann <ann@example.com>
	// u1 Ann <none>
	// u1 deleted
}

// A foreign-key join: each order names its customer in its value. Renaming
// the customer updates every order of theirs; moving an order to a customer
// with no row deletes its result.
func ExampleForeignKey() {
	b := topology.NewBuilder()
	orders := ktable.From(b, "orders", serde.String(), serde.String())       // "item|customer"
	customers := ktable.From(b, "customers", serde.String(), serde.String()) // name
	customerOf := func(order string) string { return order[strings.Index(order, "|")+1:] }
	join.ForeignKey(orders, customers, customerOf, func(order, name string) string {
		return order[:strings.Index(order, "|")] + " for " + name
	}).ToStream().To("orders-with-names")

	d := testutil.NewDriver(tableExampleT{}, tableExampleBuild(b), testutil.Config{})
	o := testutil.NewInputTopic(d, "orders", serde.String(), serde.String())
	c := testutil.NewInputTopic(d, "customers", serde.String(), serde.String())
	c.Pipe("c1", "Ann")
	o.Pipe("o1", "book|c1")
	o.Pipe("o2", "lamp|c1")
	c.Pipe("c1", "Ann B.")
	o.Pipe("o2", "lamp|c9")
	printTable(testutil.NewOutputTopic(d, "orders-with-names", serde.String(), serde.String()))
	// Output:
	// o1 book for Ann
	// o2 lamp for Ann
	// o1 book for Ann B.
	// o2 lamp for Ann B.
	// o2 deleted
}
