// Package checks holds the tests of what Cloud Build ships besides the
// Terraform configuration itself: the Docker build context and what the
// images copy (the CUDA and the CPU worker images build the same binary),
// the web container's start script against the environment Terraform gives
// it, and the function source archive. The configuration's own facts are
// proven by `terraform test` (terraform/tests), not here.
package checks
