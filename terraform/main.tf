# Chorus on Google Cloud: everything `terraform apply` stands up in a project
# that bootstrap/ has prepared (APIs, registry, sources bucket, deployer).
# Files by concern: what it reads from the bootstrap here; storage.tf, firestore.tf,
# pubsub.tf, iam.tf, functions.tf (one modules/http_function per function),
# worker.tf, web.tf; moved.tf keeps older states' addresses.

provider "google" {
  project = var.project_id
  region  = var.region

  default_labels = merge({ app = "chorus" }, var.labels)
}

data "google_project" "this" {
  project_id = var.project_id
}

locals {
  prefix = var.name_prefix

  # The Pub/Sub service agent forwards undeliverable messages to the
  # dead-letter topic; it needs publish there and subscribe on the source.
  pubsub_agent = "serviceAccount:service-${data.google_project.this.number}@gcp-sa-pubsub.iam.gserviceaccount.com"

  # Cloud Run gives every service a deterministic URL. Computing the web
  # app's origin here (instead of reading google_cloud_run_v2_service.web.uri)
  # breaks the cycle functions -> web (CORS) -> functions (config.json).
  web_origin      = "https://${local.prefix}-web-${data.google_project.this.number}.${var.region}.run.app"
  allowed_origins = distinct(concat([local.web_origin], var.extra_allowed_origins))

  # Full resource name of the worker job, as the enqueue functions expect it.
  worker_job_name = "projects/${var.project_id}/locations/${var.region}/jobs/${google_cloud_run_v2_job.worker.name}"

  # How long audio is kept, as the Go code reads it (CHORUS_AUDIO_RETENTION,
  # a duration): the bucket lifecycle deletes audio after
  # var.audio_retention_days, the functions and the worker get the same
  # span, and the writers set the Firestore TTL field (expire_at) from it.
  audio_retention = "${var.audio_retention_days * 24}h"

  # Where Cloud Functions keeps its copy of each function's source (iam.tf).
  gcf_sources_bucket = "gcf-v2-sources-${data.google_project.this.number}-${var.region}"
}

# What the bootstrap configuration (bootstrap/) made before the first build:
# the APIs, the registry Cloud Build pushes images to and the bucket it puts
# function archives in. Read by name: a plan in a project without them
# fails here, saying which is missing.
data "google_artifact_registry_repository" "chorus" {
  repository_id = local.prefix
  location      = var.region
}

data "google_storage_bucket" "sources" {
  name = "${var.project_id}-${local.prefix}-sources"
}
