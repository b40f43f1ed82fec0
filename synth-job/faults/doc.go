// Package faults holds fault-injection tests of the whole pipeline: real
// synth-job worker processes (built from this module) and the API server run
// against the Firestore and Pub/Sub emulators and the GCS fake, and the tests
// kill workers, stop emulators and feed poison messages to prove that every
// accepted job reaches succeeded or failed exactly once, with at most one
// audio object. docs/reliability.md maps each guarantee to its test.
//
// The package has no code of its own; `go test ./synth-job/faults` runs it.
// It needs the ONNX Runtime library (CHORUS_ORT_LIBRARY, from
// scripts/setup-ort.sh) and the emulators; without them the tests skip,
// unless CI is set, where they fail.
package faults
