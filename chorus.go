// Package chorus is the deployment root of the HTTP Cloud Functions.
//
// Google's Go buildpack builds functions from the Go files at the root of
// the uploaded source, so this package only imports the functions (which
// register themselves); each is deployed with its own entry point. Keep it
// free of cgo and of synth-job imports, and add no _test package here.
package chorus

import _ "github.com/chorus-voice/chorus/functions/cloudfn"
