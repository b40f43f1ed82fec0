# One service account per workload, each granted only what its code calls.
# Grants are made on the narrowest resource that carries the permission
# (topic, subscription, bucket, job, service account); only Firestore roles
# and log writing are project-wide, because neither has a narrower grant.
# Each HTTP function's account is made by its module (functions.tf,
# modules/http_function); its roles on shared resources are granted here.

resource "google_service_account" "worker" {
  account_id   = "${local.prefix}-worker"
  display_name = "Chorus synth-job worker"
  description  = "Pulls requests, reads voices, writes audio, updates jobs."
}

resource "google_service_account" "scheduler" {
  account_id   = "${local.prefix}-scheduler"
  display_name = "Chorus worker backstop"
  description  = "Cloud Scheduler identity that runs the worker job periodically."
}

resource "google_service_account" "web" {
  account_id   = "${local.prefix}-web"
  display_name = "Chorus web app"
  description  = "Runs the static web app; calls no Google API, holds no role."
}

resource "google_service_account" "function_build" {
  account_id   = "${local.prefix}-fn-build"
  display_name = "Chorus function builds"
  description  = "Cloud Build identity that builds the function images from the source archive."
}

# --- Firestore --------------------------------------------------------------
# Readers get datastore.viewer; writers (job creation, job updates) get user.

resource "google_project_iam_member" "firestore_reader" {
  for_each = {
    profiles = module.profiles.service_account_member
    status   = module.status.service_account_member
  }
  project = var.project_id
  role    = "roles/datastore.viewer"
  member  = each.value
}

resource "google_project_iam_member" "firestore_writer" {
  for_each = {
    synthesize = module.synthesize.service_account_member
    batch      = module.batch.service_account_member
    worker     = google_service_account.worker.member
  }
  project = var.project_id
  role    = "roles/datastore.user"
  member  = each.value
}

# --- Pub/Sub ----------------------------------------------------------------

# The worker also publishes: it re-publishes jobs left queued without a
# message (CHORUS_REQUEUE_AFTER).
resource "google_pubsub_topic_iam_member" "enqueue_publisher" {
  for_each = {
    synthesize = module.synthesize.service_account_member
    batch      = module.batch.service_account_member
    worker     = google_service_account.worker.member
  }
  topic  = google_pubsub_topic.requests.id
  role   = "roles/pubsub.publisher"
  member = each.value
}

# The worker forwards messages that can never succeed to the dead-letter
# topic at once (after failing their job), instead of waiting for the last
# delivery attempt.
resource "google_pubsub_topic_iam_member" "worker_dead_letter_publisher" {
  topic  = google_pubsub_topic.dead_letter.id
  role   = "roles/pubsub.publisher"
  member = google_service_account.worker.member
}

resource "google_pubsub_subscription_iam_member" "worker_subscriber" {
  for_each = {
    requests = google_pubsub_subscription.worker.id
    sweep    = google_pubsub_subscription.dead_letter["sweep"].id
  }
  subscription = each.value
  role         = "roles/pubsub.subscriber"
  member       = google_service_account.worker.member
}

# --- Cloud Storage ----------------------------------------------------------

# The worker writes each WAV once, with a does-not-exist precondition: a
# redelivered job finds its object already there, keeps it and reads its
# size. So it creates and reads but never overwrites or deletes:
# objectCreator + objectViewer, not objectUser.
resource "google_storage_bucket_iam_member" "worker_audio" {
  for_each = toset(["roles/storage.objectCreator", "roles/storage.objectViewer"])

  bucket = google_storage_bucket.audio.name
  role   = each.value
  member = google_service_account.worker.member
}

resource "google_storage_bucket_iam_member" "worker_models" {
  bucket = google_storage_bucket.models.name
  role   = "roles/storage.objectViewer"
  member = google_service_account.worker.member
}

# A signed URL carries its signer's permissions: status must be able to read
# the audio it signs for.
resource "google_storage_bucket_iam_member" "status_audio" {
  bucket = google_storage_bucket.audio.name
  role   = "roles/storage.objectViewer"
  member = module.status.service_account_member
}

# Status signs its URLs through signBlob as itself: its module grants it
# token creator on its own account (sign_as_itself, functions.tf).

# --- Starting the worker job ------------------------------------------------
# The enqueue functions read the job's latest execution and run the job
# when none is running (run.jobs.get / run.executions.list from run.viewer,
# run.jobs.run from run.invoker); the scheduler only runs it. Granted on
# the job itself, not the project.

resource "google_cloud_run_v2_job_iam_member" "job_runner" {
  for_each = {
    synthesize = module.synthesize.service_account_member
    batch      = module.batch.service_account_member
    scheduler  = google_service_account.scheduler.member
  }
  name     = google_cloud_run_v2_job.worker.name
  location = google_cloud_run_v2_job.worker.location
  role     = "roles/run.invoker"
  member   = each.value
}

resource "google_cloud_run_v2_job_iam_member" "job_watcher" {
  for_each = {
    synthesize = module.synthesize.service_account_member
    batch      = module.batch.service_account_member
  }
  name     = google_cloud_run_v2_job.worker.name
  location = google_cloud_run_v2_job.worker.location
  role     = "roles/run.viewer"
  member   = each.value
}

# --- Function builds --------------------------------------------------------
# Cloud Functions builds each function with Cloud Build as this account. A
# build reads the source archive, pushes the image to the chorus repository
# and writes its log, and needs nothing else: not
# roles/cloudbuild.builds.builder, which reaches every bucket and
# repository of the project. Cloud Functions also stores a copy of each
# function's source in its own bucket, gcf-v2-sources-NUMBER-REGION
# (created on the first deploy); reading it there is granted on the
# project, limited to that bucket by a condition. This account deploys
# nothing and acts as no other account.

resource "google_project_iam_member" "function_build" {
  for_each = {
    logs = {
      role      = "roles/logging.logWriter"
      condition = null
    }
    gcf_sources = {
      role = "roles/storage.objectViewer"
      condition = {
        title      = "gcf-v2-sources only"
        expression = "resource.name.startsWith(\"projects/_/buckets/${local.gcf_sources_bucket}\")"
      }
    }
  }

  project = var.project_id
  role    = each.value.role
  member  = google_service_account.function_build.member

  dynamic "condition" {
    for_each = each.value.condition == null ? [] : [each.value.condition]
    content {
      title      = condition.value.title
      expression = condition.value.expression
    }
  }
}

resource "google_artifact_registry_repository_iam_member" "function_build" {
  location   = data.google_artifact_registry_repository.chorus.location
  repository = data.google_artifact_registry_repository.chorus.name
  role       = "roles/artifactregistry.writer"
  member     = google_service_account.function_build.member
}

resource "google_storage_bucket_iam_member" "function_build" {
  bucket = data.google_storage_bucket.sources.name
  role   = "roles/storage.objectViewer"
  member = google_service_account.function_build.member
}
