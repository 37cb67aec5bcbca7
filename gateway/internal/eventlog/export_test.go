package eventlog

// Queued returns how many events wait for a batch, so that tests can act
// once their appends are queued.
func (l *Log) Queued() int {
	l.group.mu.Lock()
	defer l.group.mu.Unlock()
	return l.group.queued
}
