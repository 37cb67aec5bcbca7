package delivery

// OnRelease calls f whenever a send through a channel ends (its lane
// released for the shard), so tests can wait for it.
func OnRelease(f func(channel string, shard int)) Option {
	return func(w *Worker) { w.released = f }
}
