output "web_url" {
  description = "Open this in a browser: the Chorus web app."
  value       = google_cloud_run_v2_service.web.uri
}

output "function_urls" {
  description = "URL of each HTTP function, by name (the web app's config.json holds the same)."
  value       = { for name, f in local.functions : name => f.url }
}

output "profiles_url" {
  description = "URL of the profiles function."
  value       = google_cloudfunctions2_function.profiles.url
}

output "synthesize_url" {
  description = "URL of the synthesize function."
  value       = google_cloudfunctions2_function.synthesize.url
}

output "batch_url" {
  description = "URL of the batch function."
  value       = google_cloudfunctions2_function.batch.url
}

output "status_url" {
  description = "URL of the status function."
  value       = google_cloudfunctions2_function.status.url
}

output "audio_bucket" {
  description = "Bucket of the synthesised audio (private; read through signed URLs)."
  value       = google_storage_bucket.audio.name
}

output "models_bucket" {
  description = "Bucket the voices are uploaded to (NAME.onnx + NAME.onnx.json)."
  value       = google_storage_bucket.models.name
}

output "sources_bucket" {
  description = "Bucket the function source archives are uploaded to."
  value       = google_storage_bucket.sources.name
}

output "artifact_repository" {
  description = "Docker repository for the worker and web images."
  value       = "${var.region}-docker.pkg.dev/${var.project_id}/${google_artifact_registry_repository.chorus.repository_id}"
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
  value = {
    profiles   = google_service_account.profiles.email
    synthesize = google_service_account.synthesize.email
    batch      = google_service_account.batch.email
    status     = google_service_account.status.email
    worker     = google_service_account.worker.email
    scheduler  = google_service_account.scheduler.email
    web        = google_service_account.web.email
  }
}
