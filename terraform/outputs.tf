output "web_url" {
  description = "Open this in a browser: the Chorus web app."
  value       = google_cloud_run_v2_service.web.uri
}

output "function_urls" {
  description = "URL of each HTTP function, by name (the web app's config.json holds the same)."
  value       = { for name, f in local.functions : name => f.url }
}

output "audio_bucket" {
  description = "Bucket of the synthesised audio (private; read through signed URLs)."
  value       = google_storage_bucket.audio.name
}

output "models_bucket" {
  description = "Bucket the voices are uploaded to (NAME.onnx + NAME.onnx.json)."
  value       = google_storage_bucket.models.name
}

output "topic" {
  description = "Pub/Sub topic of synthesis requests; batch producers may publish to it directly (JSON, schema-validated)."
  value       = google_pubsub_topic.requests.id
}

output "dead_letter_subscription" {
  description = "Subscription that keeps every dead-lettered request for inspection."
  value       = google_pubsub_subscription.dead_letter["kept"].id
}

output "worker_job" {
  description = "Full name of the Cloud Run job that runs the synthesis worker."
  value       = local.worker_job_name
}

output "service_accounts" {
  description = "Email of each workload's service account."
  value = merge({ for name, f in local.functions : name => f.service_account_email }, {
    worker         = google_service_account.worker.email
    scheduler      = google_service_account.scheduler.email
    web            = google_service_account.web.email
    function_build = google_service_account.function_build.email
  })
}

output "callback_public_keys" {
  description = "The public keys completion callbacks are signed with, as a JSON Web Key Set (Ed25519, RFC 8037); receivers verify each callback with it (docs/reliability.md). The profiles function serves the same at callback_keys_url."
  value       = local.callback_public_keys
}

output "callback_keys_url" {
  description = "Where receivers fetch the callback public keys (a JSON Web Key Set)."
  value       = "${module.profiles.url}/callback-keys.json"
}

