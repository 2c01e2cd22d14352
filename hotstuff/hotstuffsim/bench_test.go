package hotstuffsim_test

import (
	"fmt"
	"testing"

	"github.com/bftkit/bftkit/qc"
	"github.com/bftkit/bftkit/testnet/sim"
	"github.com/bftkit/bftkit/types"
	"github.com/bftkit/bftkit/types/typestest"
)

// BenchmarkCommittedBlockWithBLS measures the CPU one committed block costs
// the whole network with real BLS: every replica's signing, the leader's
// aggregation and every gateway verification (proposal signature, QC,
// votes), all on this one core. The oracle's own certificate checks are
// off: they are the test's cost, not the protocol's. The limit on throughput with all replicas
// sharing a machine is 1 / (ns/block).
func BenchmarkCommittedBlockWithBLS(b *testing.B) {
	for _, n := range []int{4, 16, 64} {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			fx := typestest.Validators(n, 1)
			p := honest()
			p.CheckReady = nil // the oracle's own QC checks are not protocol cost
			cfg := sim.DefaultConfig(p, n, 1)
			cfg.ChainID = typestest.ChainID
			cfg.Faults = sim.Profiles["none"](1)
			cfg.Crypto = &sim.Crypto{
				Scheme: qc.NewBLSScheme(fx.Set),
				Signer: func(i types.ValidatorIndex) qc.Signer { return qc.NewBLSSigner(fx.Keys[i]) },
			}
			s, err := sim.New(cfg)
			if err != nil {
				b.Fatal(err)
			}
			if err := s.RunUntilHeight(3, 1000); err != nil {
				b.Fatal(err)
			}
			start := s.MaxHonestHeight()
			b.ResetTimer()
			for range b.N {
				if err := s.RunUntilHeight(s.MaxHonestHeight()+1, 1000); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			blocks := s.MaxHonestHeight() - start
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(blocks), "ns/block")
			b.ReportMetric(float64(blocks)/b.Elapsed().Seconds(), "blocks/s")
		})
	}
}
