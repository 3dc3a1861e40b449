package event_test

import (
	"fmt"
	"testing"

	"telltale.dev/devices/sim/event"
)

func TestSubscribersInOrderAndNested(t *testing.T) {
	var b event.Bus
	var got []string
	b.Subscribe(func(ev event.Event) { got = append(got, fmt.Sprintf("first %T", ev)) })
	event.On(&b, func(e event.PowerConnected) {
		got = append(got, "second "+e.Plug)
		// A subscriber that publishes: the nested event reaches everyone
		// before the outer Publish returns.
		b.Publish(event.BatteryChanged{Plug: e.Plug, Level: e.Level})
	})
	unsub := event.On(&b, func(e event.BatteryChanged) { got = append(got, fmt.Sprintf("third %d", e.Level)) })
	b.Publish(event.PowerConnected{Plug: "ac", Level: 50})
	want := []string{"first event.PowerConnected", "second ac", "first event.BatteryChanged", "third 50"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("delivery %v, want %v", got, want)
	}
	unsub()
	got = nil
	b.Publish(event.BatteryChanged{Level: 1})
	if fmt.Sprint(got) != "[first event.BatteryChanged]" {
		t.Fatalf("after unsubscribe: %v", got)
	}
}

// Subscribing from inside a delivery must not deadlock and takes effect
// from the next event.
func TestSubscribeDuringPublish(t *testing.T) {
	var b event.Bus
	n := 0
	b.Subscribe(func(event.Event) {
		if n == 0 {
			b.Subscribe(func(event.Event) { n += 10 })
		}
		n++
	})
	b.Publish(event.Rebooted{})
	b.Publish(event.Rebooted{})
	if n != 12 {
		t.Fatalf("n = %d, want 12", n)
	}
}
