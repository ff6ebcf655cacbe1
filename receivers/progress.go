package receivers

import "sync"

// Progress keeps, by notification, what a receiver delivered of it before a try failed,
// so that the retry sends only the rest: a destination that took part of a notification
// (some of its requests, some of its recipients) would otherwise get that part again at
// every try. It is kept in memory: after a restart or a reload a retry sends everything
// again, as at-least-once delivery allows. The zero Progress is ready to use.
type Progress[T any] struct {
	mu   sync.Mutex
	done map[int64]T
}

// maxProgress bounds the notifications kept; past it, all are forgotten.
const maxProgress = 1024

// Of is what was delivered of notification id: the zero T when nothing was, or when id is
// 0 (a message that is no notification, such as a test sent from the console).
func (p *Progress[T]) Of(id int64) T {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.done[id]
}

// Keep records that done was delivered of notification id.
func (p *Progress[T]) Keep(id int64, done T) {
	if id <= 0 {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.done == nil || len(p.done) >= maxProgress {
		p.done = map[int64]T{}
	}
	p.done[id] = done
}

// Forget drops notification id: it was delivered whole, or is dead.
func (p *Progress[T]) Forget(id int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.done, id)
}
