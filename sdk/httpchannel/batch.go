package httpchannel

import (
	"context"
	"fmt"
	"net/http"
	"sync"

	"github.com/triggergate/triggergate/sdk"
)

// Clients keeps one client per network policy, shared by every channel
// block of a plugin so that connections are reused across batches.
type Clients struct {
	// Options are the clients' options; AllowPrivateNetworks is set per
	// client.
	Options Options
	// Configure, when set, adjusts each new client's transport (tests
	// use it to trust a test server's certificate).
	Configure func(*http.Transport)

	mu sync.Mutex
	m  map[bool]*http.Client
}

// Get returns the client for a network policy.
func (c *Clients) Get(allowPrivate bool) *http.Client {
	c.mu.Lock()
	defer c.mu.Unlock()
	if cl, ok := c.m[allowPrivate]; ok {
		return cl
	}
	o := c.Options
	o.AllowPrivateNetworks = allowPrivate
	cl := NewClient(o)
	if t, ok := cl.Transport.(*http.Transport); ok && c.Configure != nil {
		c.Configure(t)
	}
	if c.m == nil {
		c.m = map[bool]*http.Client{}
	}
	c.m[allowPrivate] = cl
	return cl
}

// SendFunc sends one message. stopRest asks that the messages of the
// batch not yet started are not sent (the provider asked to slow down):
// they come back retryable with res's Retry-After.
type SendFunc func(ctx context.Context, m *sdk.Message) (res sdk.SendResult, stopRest bool)

// SendAll sends a batch, concurrency messages at a time, and returns one
// result per message, in order. Messages not started when ctx ends come
// back retryable: the host hands them back later.
func SendAll(ctx context.Context, msgs []sdk.Message, concurrency int, send SendFunc) []sdk.SendResult {
	results := make([]sdk.SendResult, len(msgs))
	sem := make(chan struct{}, max(concurrency, 1))
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		stop *sdk.SendResult // the answer that stopped the batch
	)
	for i := range msgs {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if err := ctx.Err(); err != nil {
			for j := i; j < len(results); j++ {
				results[j] = sdk.Retry(fmt.Errorf("not sent: %w", err), 0)
			}
			break
		}
		mu.Lock()
		stopped := stop
		mu.Unlock()
		if stopped != nil {
			<-sem
			for j := i; j < len(results); j++ {
				results[j] = sdk.Retry(fmt.Errorf("not sent: an earlier message of the batch was refused (%s)", stopped.Error), stopped.RetryAfter)
			}
			break
		}
		wg.Go(func() {
			defer func() { <-sem }()
			res, stopRest := send(ctx, &msgs[i])
			results[i] = res
			if stopRest {
				mu.Lock()
				if stop == nil {
					stop = &res
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return results
}
