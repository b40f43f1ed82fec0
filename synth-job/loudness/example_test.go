package loudness_test

import (
	"fmt"
	"math"

	"github.com/chorus-voice/chorus/synth-job/loudness"
)

// A job's audio gets one gain to −16 LUFS with its true peak held at or
// under −1.5 dBTP (the worker's settings). A clip whose peaks would pass
// the ceiling at that gain has just those peaks limited.
func ExampleLevel() {
	const rate = 22050
	tone := func(clicks bool) []float32 {
		x := make([]float32, 3*rate)
		for i := range x {
			x[i] = 0.05 * float32(math.Sin(2*math.Pi*440*float64(i)/rate))
			if clicks && i%rate == rate/2 {
				x[i] = 0.5
			}
		}
		return x
	}
	for _, clicks := range []bool{false, true} {
		x := tone(clicks)
		before := loudness.Measure(x, rate)
		after := loudness.Level(x, rate, -16, -1.5, 30)
		fmt.Printf("%.1f LUFS → %.1f LUFS, true peak %.1f → %.1f dBTP, limited by %.1f dB\n",
			before.Integrated, after.Integrated, before.TruePeakDBTP(), after.TruePeakDBTP(), after.Reduction)
	}
	// Output:
	// -29.7 LUFS → -16.0 LUFS, true peak -26.0 → -12.3 dBTP, limited by 0.0 dB
	// -29.6 LUFS → -16.0 LUFS, true peak -6.0 → -1.6 dBTP, limited by 9.4 dB
}
