package captions_test

import (
	"fmt"
	"time"

	"github.com/chorus-voice/chorus/synth-job/captions"
)

// One cue per sentence the user wrote, timed on the samples written.
func ExampleWebVTT() {
	fmt.Print(string(captions.WebVTT([]captions.Cue{
		{Start: 0, End: 1840 * time.Millisecond, Text: "Hello everyone!"},
		{Start: 1840 * time.Millisecond, End: 4125 * time.Millisecond, Text: "Tom & Jerry <3"},
	})))
	// Output:
	// WEBVTT
	//
	// 1
	// 00:00:00.000 --> 00:00:01.840
	// Hello everyone!
	//
	// 2
	// 00:00:01.840 --> 00:00:04.125
	// Tom &amp; Jerry &lt;3
}
