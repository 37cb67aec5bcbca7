package delivery

import (
	"math"
	"sync"
	"time"

	"github.com/sony/gobreaker/v2"
	"golang.org/x/time/rate"
)

// Limits pace and protect one channel's sends.
type Limits struct {
	// RatePerSecond is the most messages per second the whole cluster
	// sends through the channel (0: no limit). Each node takes the share
	// of it that matches the share of partitions it owns, so the nodes
	// together stay under it without talking to each other.
	RatePerSecond float64
	// BreakerFailures failed sends in a row (a batch that errors, or whose
	// every message failed with a retryable error) open the channel's
	// circuit breaker: nothing is sent through it for BreakerCooldown,
	// then one message probes whether the provider is back. Messages wait
	// meanwhile without using up attempts. Zero values take defaults (5
	// and 30s).
	BreakerFailures int
	BreakerCooldown time.Duration
}

// lane is one channel's delivery state on this node: its rate limiter,
// its circuit breaker, and which shards have a send in flight.
type lane struct {
	Channel
	policy   Policy
	limiter  *rate.Limiter // nil: unlimited
	breaker  *gobreaker.TwoStepCircuitBreaker[struct{}]
	cooldown time.Duration

	mu       sync.Mutex
	share    float64     // the node's share of the rate limit last applied
	openedAt time.Time   // when the breaker last opened (wall clock, as gobreaker's)
	busy     map[int]int // shard → sends in flight
}

func newLane(ch Channel, policy Policy) *lane {
	lim := ch.Limits
	if lim.BreakerFailures <= 0 {
		lim.BreakerFailures = 5
	}
	if lim.BreakerCooldown <= 0 {
		lim.BreakerCooldown = 30 * time.Second
	}
	l := &lane{Channel: ch, policy: policy, cooldown: lim.BreakerCooldown, busy: map[int]int{}}
	if ch.Retry != nil {
		l.policy = *ch.Retry
	}
	if lim.RatePerSecond > 0 {
		l.limiter = rate.NewLimiter(rate.Limit(lim.RatePerSecond), burst(lim.RatePerSecond))
		l.share = 1
	}
	failures := uint32(lim.BreakerFailures)
	l.breaker = gobreaker.NewTwoStepCircuitBreaker[struct{}](gobreaker.Settings{
		Name:        ch.Name,
		MaxRequests: 1, // one probe when half-open
		Timeout:     lim.BreakerCooldown,
		ReadyToTrip: func(c gobreaker.Counts) bool { return c.ConsecutiveFailures >= failures },
		OnStateChange: func(_ string, _, to gobreaker.State) {
			if to == gobreaker.StateOpen {
				l.mu.Lock()
				l.openedAt = time.Now()
				l.mu.Unlock()
			}
		},
	})
	return l
}

// burst lets a second's worth of messages go at once (at least one).
func burst(perSecond float64) int { return max(1, int(math.Ceil(perSecond))) }

// setShare applies the node's share of the cluster-wide rate limit.
func (l *lane) setShare(now time.Time, share float64) {
	if l.limiter == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if share == l.share {
		return
	}
	l.share = share
	r := l.Limits.RatePerSecond * share
	l.limiter.SetLimitAt(now, rate.Limit(r))
	l.limiter.SetBurstAt(now, burst(r))
}

// take returns how many of n due messages the rate limit lets go at now,
// and, when it holds some back, when the next may go.
func (l *lane) take(now time.Time, n int) (int, time.Time) {
	if l.limiter == nil || n == 0 {
		return n, time.Time{}
	}
	tokens := l.limiter.TokensAt(now)
	k := min(n, max(int(tokens), 0))
	if k > 0 && !l.limiter.AllowN(now, k) {
		k = 0
	}
	if k == n {
		return k, time.Time{}
	}
	r := float64(l.limiter.Limit())
	if r <= 0 {
		return k, now.Add(time.Second)
	}
	missing := 1 - (tokens - float64(k))
	return k, now.Add(time.Duration(missing / r * float64(time.Second)))
}

// closedFor reports whether the breaker keeps the channel shut, and until
// when (on the worker's clock, given its now).
func (l *lane) closedFor(now time.Time) (bool, time.Time) {
	if l.breaker.State() != gobreaker.StateOpen {
		return false, time.Time{}
	}
	l.mu.Lock()
	left := time.Until(l.openedAt.Add(l.cooldown))
	l.mu.Unlock()
	return true, now.Add(max(left, 10*time.Millisecond))
}

// probing reports whether the breaker is half-open: only one message
// should go, to see whether the provider is back.
func (l *lane) probing() bool { return l.breaker.State() == gobreaker.StateHalfOpen }

// idle reports whether the lane has no send of shard in flight.
func (l *lane) idle(shard int) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.busy[shard] == 0
}

// acquire marks a send of shard in flight. Only the shard's own pass
// acquires for it, after seeing the lane idle.
func (l *lane) acquire(shard int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.busy[shard]++
}

func (l *lane) release(shard int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.busy[shard]--
}
