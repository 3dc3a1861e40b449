// Package event carries what happens on the simulated phone from the part
// that makes it happen to the parts that care, the way Android's broadcasts
// and observers do: the battery service publishes PowerConnected, the
// telemetry listens. Delivery is synchronous and in subscription order, so a
// command's events have all been handled when the command returns.
//
// Publishers must not hold their own lock while publishing: a subscriber may
// call back into the publisher.
package event

import (
	"slices"
	"sync"
)

// Event is one of the types in events.go.
type Event interface{ isEvent() }

// Bus delivers events to subscribers. The zero Bus is ready to use.
type Bus struct {
	mu   sync.Mutex
	next int
	subs []subscriber
}

type subscriber struct {
	id int
	fn func(Event)
}

// Subscribe calls fn with every event published from now on, after the
// subscribers that came before it. The returned func unsubscribes.
func (b *Bus) Subscribe(fn func(Event)) (unsubscribe func()) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.next++
	id := b.next
	// Copy on write: Publish iterates a snapshot without the lock.
	b.subs = append(slices.Clip(b.subs), subscriber{id: id, fn: fn})
	return func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		b.subs = slices.DeleteFunc(slices.Clone(b.subs), func(s subscriber) bool { return s.id == id })
	}
}

// Publish hands ev to every subscriber in turn and returns when all have
// handled it. A subscriber may publish further events; they are delivered
// before Publish returns.
func (b *Bus) Publish(ev Event) {
	b.mu.Lock()
	subs := b.subs
	b.mu.Unlock()
	for _, s := range subs {
		s.fn(ev)
	}
}

// On subscribes fn to the events of type T only.
func On[T Event](b *Bus, fn func(T)) (unsubscribe func()) {
	return b.Subscribe(func(ev Event) {
		if t, ok := ev.(T); ok {
			fn(t)
		}
	})
}
