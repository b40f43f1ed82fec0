package worker

import "net"

// SetCallbackResolver makes w's callbacks resolve names with r (a test's
// DNS server). Call it before Run.
func SetCallbackResolver(w *Worker, r *net.Resolver) {
	w.callbacks.client = callbackClient(w.callbacks.allowLoopback, r)
}
