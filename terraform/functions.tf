# The four HTTP functions (Cloud Functions gen2, Go), one call of
# modules/http_function each: the module owns the function's dedicated
# service account, the function and its invoker binding; roles on shared
# resources are granted in iam.tf to module.NAME.service_account_member.
#
# All are built from the same archive of the repository root
# (scripts/package-functions.sh): the Go buildpack only builds the root
# package, which blank-imports the function packages, and each function is
# picked by its entry point.

locals {
  # Settings every function reads through config.Functions.
  function_env = {
    GOOGLE_CLOUD_PROJECT   = var.project_id
    CHORUS_TOPIC           = google_pubsub_topic.requests.name
    CHORUS_AUDIO_BUCKET    = google_storage_bucket.audio.name
    CHORUS_ALLOWED_ORIGINS = join(",", local.allowed_origins)
    # The request limits: the enqueue functions enforce them (and derive
    # the body limit from them), profiles tells clients (limits), status
    # lists a batch up to its largest size.
    CHORUS_MAX_TEXT_CHARS  = tostring(var.max_text_chars)
    CHORUS_MAX_BATCH_ITEMS = tostring(var.max_batch_items)
    CHORUS_AUDIO_RETENTION = local.audio_retention
    # Which X-Forwarded-For entry is the client (the rate limit's key).
    CHORUS_TRUSTED_PROXY_HOPS = tostring(var.trusted_proxy_hops)
  }

  # What the enqueue functions (synthesize, batch) add: where clients poll,
  # which job to start when none is running, and the rate limit.
  enqueue_env = {
    CHORUS_STATUS_URL      = module.status.url
    CHORUS_WORKER_JOB      = local.worker_job_name
    CHORUS_RATE_PER_MINUTE = tostring(var.rate_per_minute)
    CHORUS_RATE_BURST      = tostring(var.rate_burst)
    # Jobs the result cache answers at once are announced here.
    CHORUS_COMPLETION_TOPIC = google_pubsub_topic.completed.name
  }

  # How every function is built.
  function_build = {
    runtime           = var.function_runtime
    service_account   = google_service_account.function_build.id
    docker_repository = data.google_artifact_registry_repository.chorus.id
    source_bucket     = data.google_storage_bucket.sources.name
    source_object     = var.function_source_object
  }

  # Every HTTP function by name, for the outputs.
  functions = {
    profiles   = module.profiles
    synthesize = module.synthesize
    batch      = module.batch
    status     = module.status
  }
}

module "profiles" {
  source = "./modules/http_function"

  name                = "profiles"
  entry_point         = "Profiles"
  description         = "GET profiles: the members fans can pick; the callback public keys."
  account_description = "Reads members and voices from Firestore."
  # It also serves the keys callbacks are signed with (/callback-keys.json).
  environment = merge(local.function_env, {
    CHORUS_CALLBACK_PUBLIC_KEYS = jsonencode(local.callback_public_keys)
  })
  settings = var.function_settings["profiles"]
  public   = contains(var.public_functions, "profiles")

  prefix = local.prefix
  region = var.region
  build  = local.function_build
  # The APIs, and the build account's roles (iam.tf) before the first build.
  depends_on = [
    google_project_iam_member.function_build,
    google_artifact_registry_repository_iam_member.function_build,
    google_storage_bucket_iam_member.function_build,
  ]
}

module "synthesize" {
  source = "./modules/http_function"

  name                = "synthesize"
  entry_point         = "Synthesize"
  description         = "POST synthesize: queue one synthesis job."
  account_description = "Creates jobs, publishes requests, starts the worker job."
  environment         = merge(local.function_env, local.enqueue_env)
  settings            = var.function_settings["synthesize"]
  public              = contains(var.public_functions, "synthesize")

  prefix = local.prefix
  region = var.region
  build  = local.function_build
  # The APIs, and the build account's roles (iam.tf) before the first build.
  depends_on = [
    google_project_iam_member.function_build,
    google_artifact_registry_repository_iam_member.function_build,
    google_storage_bucket_iam_member.function_build,
  ]
}

module "batch" {
  source = "./modules/http_function"

  name                = "batch"
  entry_point         = "Batch"
  description         = "POST batch: queue up to CHORUS_MAX_BATCH_ITEMS jobs at once."
  account_description = "Creates jobs, publishes requests, starts the worker job."
  environment         = merge(local.function_env, local.enqueue_env)
  settings            = var.function_settings["batch"]
  public              = contains(var.public_functions, "batch")

  prefix = local.prefix
  region = var.region
  build  = local.function_build
  # The APIs, and the build account's roles (iam.tf) before the first build.
  depends_on = [
    google_project_iam_member.function_build,
    google_artifact_registry_repository_iam_member.function_build,
    google_storage_bucket_iam_member.function_build,
  ]
}

# The enqueue functions return status's URL to clients (CHORUS_STATUS_URL),
# so status is created first.
module "status" {
  source = "./modules/http_function"

  name                = "status"
  entry_point         = "Status"
  description         = "GET status: job state and a signed audio URL."
  account_description = "Reads jobs and signs audio URLs (signBlob as itself)."
  environment = merge(local.function_env, {
    CHORUS_SIGNED_URL_TTL         = "${var.signed_url_ttl_seconds}s"
    CHORUS_STATUS_RATE_PER_MINUTE = tostring(var.status_rate_per_minute)
    CHORUS_STATUS_RATE_BURST      = tostring(var.status_rate_burst)
  })
  settings       = var.function_settings["status"]
  public         = contains(var.public_functions, "status")
  sign_as_itself = true

  prefix = local.prefix
  region = var.region
  build  = local.function_build
  # The APIs, and the build account's roles (iam.tf) before the first build.
  depends_on = [
    google_project_iam_member.function_build,
    google_artifact_registry_repository_iam_member.function_build,
    google_storage_bucket_iam_member.function_build,
  ]
}
