# Chorus on Google Cloud: everything `terraform apply` stands up in an empty
# project. Files by concern: apis and registry here; storage.tf, firestore.tf,
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

# Every API the deployment calls. disable_on_destroy = false: turning an API
# off on destroy breaks other users of the project and is rarely wanted.
resource "google_project_service" "apis" {
  for_each = toset([
    "artifactregistry.googleapis.com",
    "cloudbuild.googleapis.com",
    "cloudfunctions.googleapis.com",
    "cloudresourcemanager.googleapis.com",
    "cloudscheduler.googleapis.com",
    "firestore.googleapis.com",
    "iam.googleapis.com",
    # Status signs V4 URLs through signBlob: without this API signing fails with 403.
    "iamcredentials.googleapis.com",
    "pubsub.googleapis.com",
    "run.googleapis.com",
    "secretmanager.googleapis.com",
    "storage.googleapis.com",
  ])

  project            = var.project_id
  service            = each.value
  disable_on_destroy = false
}

# Images: the worker and web images pushed by Cloud Build, and the images
# Cloud Functions builds from the function sources.
resource "google_artifact_registry_repository" "chorus" {
  repository_id = local.prefix
  location      = var.region
  format        = "DOCKER"
  description   = "Chorus container images (worker, web, function builds)."

  cleanup_policy_dry_run = false
  cleanup_policies {
    id     = "keep-recent"
    action = "KEEP"
    most_recent_versions {
      keep_count = var.images_to_keep
    }
  }
  cleanup_policies {
    id     = "delete-old"
    action = "DELETE"
    condition {
      tag_state  = "ANY"
      older_than = "${var.image_retention_days * 86400}s"
    }
  }

  depends_on = [google_project_service.apis]
}
