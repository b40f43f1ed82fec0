// Package checks holds the tests that prove each offline Terraform check
// (terraform fmt, init + validate against the real google provider, tflint,
// terraform test with a mock provider) passes on the repository's
// configuration and fails on a copy broken on purpose. A check that cannot
// fail proves nothing; these tests keep every one of them honest.
//
// The tools come from scripts/test-terraform.sh, which builds and caches
// them; run it once (or `scripts/test-terraform.sh tools`) before
// `go test ./terraform/checks/`.
package checks
