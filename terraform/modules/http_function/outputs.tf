output "url" {
  description = "URL of the function."
  value       = google_cloudfunctions2_function.this.url
}

output "service_account_email" {
  description = "Email of the function's own service account."
  value       = google_service_account.this.email
}

output "service_account_member" {
  description = "IAM member of the function's service account (serviceAccount:EMAIL), for grants on shared resources."
  value       = google_service_account.this.member
}

output "service_account_name" {
  description = "Resource name of the function's service account (projects/P/serviceAccounts/EMAIL)."
  value       = google_service_account.this.name
}

# The objects themselves, for the root's tests (terraform test reads a
# child module only through its outputs).

output "function" {
  description = "The google_cloudfunctions2_function."
  value       = google_cloudfunctions2_function.this
}

output "service_account" {
  description = "The function's google_service_account."
  value       = google_service_account.this
}

output "token_creator_grant" {
  description = "The grant of token creator on the function's own account (null unless sign_as_itself)."
  value       = one(google_service_account_iam_member.signs_as_itself)
}

output "public_invoker" {
  description = "The allUsers run.invoker grant on the function's service (null unless public)."
  value       = one(google_cloud_run_v2_service_iam_member.public_invoker)
}
