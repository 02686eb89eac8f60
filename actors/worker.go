package actors

// worker runs an actor's Lua work on one long-lived goroutine. Hollywood runs each burst of an
// actor's messages on a new goroutine, whose stack starts small; a call into Lua needs a deep stack,
// and growing it again for every burst cost more CPU than the Lua call itself. The actor hands each
// job over and waits for it, so the actor's ordering and ownership rules are unchanged.
type worker struct {
	jobs chan func()
	done chan any // a job's panic value, or nil
}

func newWorker() *worker {
	w := &worker{jobs: make(chan func()), done: make(chan any)}
	go w.loop()
	return w
}

func (w *worker) loop() {
	for f := range w.jobs {
		w.done <- run(f)
	}
}

// run calls f and returns what it panicked with (nil if nothing).
func run(f func()) (panicked any) {
	defer func() { panicked = recover() }()
	f()
	return nil
}

// do runs f on the worker's goroutine and returns when it has. A panic in f is raised again here,
// on the actor's goroutine, where the actor's recoverer handles it.
func (w *worker) do(f func()) {
	w.jobs <- f
	if p := <-w.done; p != nil {
		panic(p)
	}
}

// stop ends the worker's goroutine once its current job is done.
func (w *worker) stop() { close(w.jobs) }
