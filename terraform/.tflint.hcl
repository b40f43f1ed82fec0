# tflint with its bundled Terraform ruleset only (the google ruleset is a
# plugin download, not available offline). "all" adds naming, documented
# variables and outputs, typed variables and the standard file layout to
# the recommended rules.
config {
  format = "compact"
}

plugin "terraform" {
  enabled = true
  preset  = "all"
}
