// Package ports finds free loopback TCP ports for validators that must be
// told their ports before they start (genesis lists every address).
//
// Asking the system for port 0 and releasing it races with every outbound
// connection on the machine: the kernel hands the same ephemeral ports to
// the next dials, and a validator about to bind its port finds it taken
// (seen in CI, where tests of several packages run at once). Ports below
// the ephemeral range are never handed out that way, so Free picks random
// ones there and checks each by binding it.
package ports

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
)

// lowest is the lowest port Free picks: above the well-known and most
// registered service ports.
const lowest = 20000

// Free returns n distinct loopback ports that were free when checked.
func Free(n int) ([]int, error) {
	hi := ephemeralLow()
	if hi-lowest < 10*n {
		return nil, fmt.Errorf("ports: only %d ports below the ephemeral range (%d) to pick %d from", hi-lowest, hi, n)
	}
	out := make([]int, 0, n)
	seen := make(map[int]bool, n)
	for tries := 0; len(out) < n; tries++ {
		if tries > 100*n {
			return nil, fmt.Errorf("ports: no %d free ports found in %d..%d", n, lowest, hi-1)
		}
		p := lowest + rand.IntN(hi-lowest)
		if seen[p] || !bindable(p) {
			continue
		}
		seen[p] = true
		out = append(out, p)
	}
	return out, nil
}

func bindable(port int) bool {
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return false
	}
	return ln.Close() == nil
}

// ephemeralLow is the bottom of the kernel's ephemeral port range (Linux),
// or 32768 where it cannot be read.
func ephemeralLow() int {
	data, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return 32768
	}
	fields := strings.Fields(string(data))
	if len(fields) == 0 {
		return 32768
	}
	low, err := strconv.Atoi(fields[0])
	if err != nil || low <= lowest {
		return 32768
	}
	return low
}
