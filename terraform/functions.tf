# The four HTTP functions (Cloud Functions gen2, Go). All are built from the
# same archive of the repository root (scripts/package-functions.sh): the
# Go buildpack only builds the root package, which blank-imports the
# function packages, and each function is picked by its entry point.

locals {
  # Settings every function reads through config.Functions.
  function_env = {
    GOOGLE_CLOUD_PROJECT   = var.project_id
    CHORUS_TOPIC           = google_pubsub_topic.requests.name
    CHORUS_AUDIO_BUCKET    = google_storage_bucket.audio.name
    CHORUS_ALLOWED_ORIGINS = join(",", local.allowed_origins)
    CHORUS_MAX_TEXT_CHARS  = tostring(var.max_text_chars)
  }

  # What the enqueue functions (synthesize, batch) add: where clients poll,
  # which job to start when none is running, and the request limits.
  enqueue_env = {
    CHORUS_STATUS_URL      = google_cloudfunctions2_function.status.url
    CHORUS_WORKER_JOB      = local.worker_job_name
    CHORUS_MAX_BATCH_ITEMS = tostring(var.max_batch_items)
    CHORUS_RATE_PER_MINUTE = tostring(var.rate_per_minute)
    CHORUS_RATE_BURST      = tostring(var.rate_burst)
  }

  function_source = {
    bucket = google_storage_bucket.sources.name
    object = var.function_source_object
  }

  # By name, for the invoker grants below.
  functions = {
    profiles   = google_cloudfunctions2_function.profiles
    synthesize = google_cloudfunctions2_function.synthesize
    batch      = google_cloudfunctions2_function.batch
    status     = google_cloudfunctions2_function.status
  }
}

resource "google_cloudfunctions2_function" "profiles" {
  name        = "${local.prefix}-profiles"
  location    = var.region
  description = "GET profiles: the members fans can pick."

  build_config {
    runtime           = var.function_runtime
    entry_point       = "Profiles"
    service_account   = google_service_account.function_build.id
    docker_repository = google_artifact_registry_repository.chorus.id
    source {
      storage_source {
        bucket = local.function_source.bucket
        object = local.function_source.object
      }
    }
  }

  service_config {
    available_memory                 = var.function_settings["profiles"].memory
    available_cpu                    = var.function_settings["profiles"].cpu
    timeout_seconds                  = var.function_settings["profiles"].timeout_seconds
    min_instance_count               = var.function_settings["profiles"].min_instances
    max_instance_count               = var.function_settings["profiles"].max_instances
    max_instance_request_concurrency = var.function_settings["profiles"].concurrency
    ingress_settings                 = "ALLOW_ALL"
    all_traffic_on_latest_revision   = true
    service_account_email            = google_service_account.profiles.email
    environment_variables            = local.function_env
  }

  depends_on = [google_project_iam_member.function_build]
}

resource "google_cloudfunctions2_function" "synthesize" {
  name        = "${local.prefix}-synthesize"
  location    = var.region
  description = "POST synthesize: queue one synthesis job."

  build_config {
    runtime           = var.function_runtime
    entry_point       = "Synthesize"
    service_account   = google_service_account.function_build.id
    docker_repository = google_artifact_registry_repository.chorus.id
    source {
      storage_source {
        bucket = local.function_source.bucket
        object = local.function_source.object
      }
    }
  }

  service_config {
    available_memory                 = var.function_settings["synthesize"].memory
    available_cpu                    = var.function_settings["synthesize"].cpu
    timeout_seconds                  = var.function_settings["synthesize"].timeout_seconds
    min_instance_count               = var.function_settings["synthesize"].min_instances
    max_instance_count               = var.function_settings["synthesize"].max_instances
    max_instance_request_concurrency = var.function_settings["synthesize"].concurrency
    ingress_settings                 = "ALLOW_ALL"
    all_traffic_on_latest_revision   = true
    service_account_email            = google_service_account.synthesize.email
    environment_variables            = merge(local.function_env, local.enqueue_env)
  }

  depends_on = [google_project_iam_member.function_build]
}

resource "google_cloudfunctions2_function" "batch" {
  name        = "${local.prefix}-batch"
  location    = var.region
  description = "POST batch: queue up to CHORUS_MAX_BATCH_ITEMS jobs at once."

  build_config {
    runtime           = var.function_runtime
    entry_point       = "Batch"
    service_account   = google_service_account.function_build.id
    docker_repository = google_artifact_registry_repository.chorus.id
    source {
      storage_source {
        bucket = local.function_source.bucket
        object = local.function_source.object
      }
    }
  }

  service_config {
    available_memory                 = var.function_settings["batch"].memory
    available_cpu                    = var.function_settings["batch"].cpu
    timeout_seconds                  = var.function_settings["batch"].timeout_seconds
    min_instance_count               = var.function_settings["batch"].min_instances
    max_instance_count               = var.function_settings["batch"].max_instances
    max_instance_request_concurrency = var.function_settings["batch"].concurrency
    ingress_settings                 = "ALLOW_ALL"
    all_traffic_on_latest_revision   = true
    service_account_email            = google_service_account.batch.email
    environment_variables            = merge(local.function_env, local.enqueue_env)
  }

  depends_on = [google_project_iam_member.function_build]
}

resource "google_cloudfunctions2_function" "status" {
  name        = "${local.prefix}-status"
  location    = var.region
  description = "GET status: job state and a signed audio URL."

  build_config {
    runtime           = var.function_runtime
    entry_point       = "Status"
    service_account   = google_service_account.function_build.id
    docker_repository = google_artifact_registry_repository.chorus.id
    source {
      storage_source {
        bucket = local.function_source.bucket
        object = local.function_source.object
      }
    }
  }

  service_config {
    available_memory                 = var.function_settings["status"].memory
    available_cpu                    = var.function_settings["status"].cpu
    timeout_seconds                  = var.function_settings["status"].timeout_seconds
    min_instance_count               = var.function_settings["status"].min_instances
    max_instance_count               = var.function_settings["status"].max_instances
    max_instance_request_concurrency = var.function_settings["status"].concurrency
    ingress_settings                 = "ALLOW_ALL"
    all_traffic_on_latest_revision   = true
    service_account_email            = google_service_account.status.email
    environment_variables = merge(local.function_env, {
      CHORUS_SIGNED_URL_TTL = "${var.signed_url_ttl_seconds}s"
      # Sign as itself through signBlob (see iam.tf).
      CHORUS_SIGNER_EMAIL = google_service_account.status.email
    })
  }

  depends_on = [
    google_project_iam_member.function_build,
    google_service_account_iam_member.status_signs_as_itself,
  ]
}

# Public invoke, only for the functions the browser calls (all four by
# default: the web app's config.json names each). Gen2 functions are Cloud
# Run services; invoking needs run.invoker on the service.
resource "google_cloud_run_v2_service_iam_member" "public_invoker" {
  for_each = var.public_functions

  location = var.region
  name     = local.functions[each.value].service_config[0].service
  role     = "roles/run.invoker"
  member   = "allUsers"
}
