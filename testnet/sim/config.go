package sim

import (
	"errors"
	"fmt"
	"os"
	"strconv"

	"github.com/bftkit/bftkit/qc"
	"github.com/bftkit/bftkit/types"
)

// Config describes one simulated run.
type Config struct {
	Seed     uint64
	N        int
	ChainID  string
	Protocol *Protocol
	// Byzantine maps nodes to behaviour names; at most f = ⌊(n−1)/3⌋ unless
	// AllowMoreThanF (harness validation shows the fork with f+1).
	Byzantine      map[types.ValidatorIndex]string
	AllowMoreThanF bool
	// Faults is the fault mix of the safety phase.
	Faults Faults
	// SafetyTicks and LivenessTicks bound the two phases of Run;
	// LivenessBlocks is how many new blocks every core node must commit.
	SafetyTicks, LivenessTicks, LivenessBlocks int
	// Crypto is the signature scheme of the run; nil means the fast
	// HashScheme keyed by the seed. Benchmarks pass real BLS to measure
	// what signing and verifying cost per block.
	Crypto *Crypto
}

// Crypto is a run's signature scheme and each node's signer.
type Crypto struct {
	Scheme qc.Scheme
	Signer func(types.ValidatorIndex) qc.Signer
}

// DefaultConfig is a run of protocol p at n nodes with the given seed and
// a fault mix drawn from the seed (swarm testing).
func DefaultConfig(p *Protocol, n int, seed uint64) Config {
	return Config{
		Seed: seed, N: n, ChainID: "bftkit-sim", Protocol: p,
		Faults:      DrawFaults(seed),
		SafetyTicks: 400, LivenessTicks: 600, LivenessBlocks: 5,
	}
}

func (c *Config) check() error {
	if c.Protocol == nil {
		return errors.New("sim: no protocol")
	}
	if err := c.Protocol.Descriptor.Check(); err != nil {
		return fmt.Errorf("sim: %w", err)
	}
	if c.N < 1 || c.N > types.MaxValidators {
		return fmt.Errorf("sim: n = %d is out of range 1..%d", c.N, types.MaxValidators)
	}
	f := (c.N - 1) / 3
	if len(c.Byzantine) > f && !c.AllowMoreThanF {
		return fmt.Errorf("sim: %d Byzantine nodes exceed f = %d for n = %d", len(c.Byzantine), f, c.N)
	}
	for i, name := range c.Byzantine {
		if int(i) >= c.N {
			return fmt.Errorf("sim: Byzantine node %d is not among the %d nodes", i, c.N)
		}
		if _, ok := c.Protocol.Behaviour(name); !ok {
			return fmt.Errorf("sim: protocol %s has no behaviour %q (known: %v)", c.Protocol.Name, name, c.Protocol.BehaviourNames())
		}
	}
	return c.Faults.check()
}

// SeedsFromEnv is how many seeds a seeded test runs: dflt, or the value of
// BFTKIT_SIM_SEEDS for longer soaks. A malformed value is an error.
func SeedsFromEnv(dflt int) (int, error) {
	v := os.Getenv("BFTKIT_SIM_SEEDS")
	if v == "" {
		return dflt, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return 0, fmt.Errorf("BFTKIT_SIM_SEEDS=%q is not a positive number", v)
	}
	return n, nil
}
