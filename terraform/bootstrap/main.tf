# Chorus bootstrap: what exists before the first build. Cloud Build pushes
# images to the registry and function archives to the sources bucket that
# this configuration creates, and runs as the deployer account it creates;
# the main configuration (../) then reads the registry and the bucket by
# name. Applied once by a project owner, and again when the API list or the
# deployer's roles change (docs/deploy.md).

provider "google" {
  project = var.project_id
  region  = var.region

  default_labels = merge({ app = "chorus" }, var.labels)
}

locals {
  prefix = var.name_prefix

  # Every API the deployment calls, the main configuration's included
  # (Resource Manager is enabled before the others, below).
  apis = toset([
    "artifactregistry.googleapis.com",
    "cloudbuild.googleapis.com",
    "cloudfunctions.googleapis.com",
    # Cloud Build reads the L4 quota through it before applying
    # (scripts/quotacheck).
    "cloudquotas.googleapis.com",
    "cloudresourcemanager.googleapis.com",
    "cloudscheduler.googleapis.com",
    "firestore.googleapis.com",
    "iam.googleapis.com",
    # Status signs V4 URLs through signBlob: without this API signing fails with 403.
    "iamcredentials.googleapis.com",
    # The alert policies (../alerts.tf).
    "monitoring.googleapis.com",
    "pubsub.googleapis.com",
    "run.googleapis.com",
    "secretmanager.googleapis.com",
    "storage.googleapis.com",
  ])

  # APIs added after deployments made before this configuration existed:
  # such a deployment's main configuration never enabled them, so there is
  # nothing to adopt (import) for them; they are simply enabled.
  apis_new_since_adoption = toset(["cloudquotas.googleapis.com", "monitoring.googleapis.com"])

  # What the deployer applies the main configuration with: it creates
  # service accounts and grants them roles, so it needs admin roles, but no
  # primitive role (owner/editor).
  deployer_roles = toset([
    "roles/artifactregistry.admin",
    "roles/cloudbuild.builds.editor",
    "roles/cloudfunctions.admin",
    # Read the L4 quota before applying (scripts/quotacheck).
    "roles/cloudquotas.viewer",
    "roles/cloudscheduler.admin",
    "roles/datastore.owner",
    "roles/iam.serviceAccountAdmin",
    "roles/iam.serviceAccountUser",
    "roles/logging.logWriter",
    # The alert policies, and reading the notification channels they name.
    "roles/monitoring.alertPolicyEditor",
    "roles/monitoring.notificationChannelViewer",
    "roles/pubsub.admin",
    "roles/resourcemanager.projectIamAdmin",
    "roles/run.admin",
    "roles/secretmanager.admin",
    # Also all that `gcloud beta services identity create` needs, run by
    # Cloud Build so the Pub/Sub service agent exists before applying:
    # generateServiceIdentity checks no project permission (answered in
    # firebase/firebase-tools#11005, 2026-09), and gcloud bills the call to
    # the project, which takes serviceusage.services.use.
    "roles/serviceusage.serviceUsageConsumer",
    "roles/storage.admin",
  ])
}

# Resource Manager first, on its own: the provider reads the project through
# it while enabling the others. disable_on_destroy = false: turning an API
# off on destroy breaks other users of the project and is rarely wanted.
resource "google_project_service" "resourcemanager" {
  project            = var.project_id
  service            = "cloudresourcemanager.googleapis.com"
  disable_on_destroy = false
}

resource "google_project_service" "apis" {
  for_each = setsubtract(local.apis, [google_project_service.resourcemanager.service])

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

# Function source archives (scripts/package-functions.sh, uploaded by Cloud
# Build). Only the build of a function reads its archive, so old archives
# can go; names carry the archive's hash, so a new archive redeploys.
resource "google_storage_bucket" "sources" {
  name     = "${var.project_id}-${local.prefix}-sources"
  location = var.region

  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = !var.deletion_protection

  lifecycle_rule {
    condition {
      age = var.source_retention_days
    }
    action {
      type = "Delete"
    }
  }

  depends_on = [google_project_service.apis]
}

# The identity Cloud Build applies the main configuration as
# (gcloud builds submit --service-account=...).
resource "google_service_account" "deployer" {
  account_id   = "${local.prefix}-deployer"
  display_name = "Chorus deployer (Cloud Build applies Terraform as this account)"
  depends_on   = [google_project_service.apis]
}

resource "google_project_iam_member" "deployer" {
  for_each = local.deployer_roles

  project = var.project_id
  role    = each.value
  member  = google_service_account.deployer.member
}

# A deployment made before this configuration: its main configuration
# created the APIs, registry and bucket and has since forgotten them
# (removed blocks in ../moved.tf), and the deployer was made by hand with
# gcloud; -var adopt_existing=true takes them over here, once.
import {
  for_each = var.adopt_existing ? setsubtract(local.apis, setunion(["cloudresourcemanager.googleapis.com"], local.apis_new_since_adoption)) : toset([])
  to       = google_project_service.apis[each.value]
  id       = "${var.project_id}/${each.value}"
}

import {
  for_each = var.adopt_existing ? toset(["cloudresourcemanager.googleapis.com"]) : toset([])
  to       = google_project_service.resourcemanager
  id       = "${var.project_id}/${each.value}"
}

import {
  for_each = var.adopt_existing ? toset([local.prefix]) : toset([])
  to       = google_artifact_registry_repository.chorus
  id       = "projects/${var.project_id}/locations/${var.region}/repositories/${each.value}"
}

import {
  for_each = var.adopt_existing ? toset(["${var.project_id}-${local.prefix}-sources"]) : toset([])
  to       = google_storage_bucket.sources
  id       = each.value
}

import {
  for_each = var.adopt_existing ? toset(["${local.prefix}-deployer@${var.project_id}.iam.gserviceaccount.com"]) : toset([])
  to       = google_service_account.deployer
  id       = "projects/${var.project_id}/serviceAccounts/${each.value}"
}
