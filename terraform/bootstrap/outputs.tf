output "artifact_repository" {
  description = "Docker repository for the worker and web images."
  value       = "${var.region}-docker.pkg.dev/${var.project_id}/${google_artifact_registry_repository.chorus.repository_id}"
}

output "sources_bucket" {
  description = "Bucket the function source archives are uploaded to."
  value       = google_storage_bucket.sources.name
}

output "deployer_service_account" {
  description = "Cloud Build's --service-account for builds that apply Terraform."
  value       = google_service_account.deployer.id
}
