# Plan-and-apply assertions against a mock google provider: nothing is
# created and no credentials are needed (`terraform test`, offline).
# Apply (not plan) so computed values such as service account emails get
# mock values and can be compared.

mock_provider "google" {
  mock_data "google_project" {
    defaults = {
      number = "123456789012"
    }
  }
  # What bootstrap/ made, read by name.
  mock_data "google_artifact_registry_repository" {
    defaults = {
      id   = "projects/chorus-test-1/locations/us-central1/repositories/chorus"
      name = "chorus"
    }
  }
}

# The callback signing keys: a known public key (RFC 8037's, whose base64
# holds a '/'), so that the published JWK can be checked byte for byte.
mock_provider "tls" {}

override_resource {
  target = tls_private_key.callback
  values = {
    public_key_pem  = "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=\n-----END PUBLIC KEY-----\n"
    private_key_pem = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIJ1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rAMcrn9g\n-----END PRIVATE KEY-----\n"
  }
}

override_resource {
  target = google_secret_manager_secret_version.callback
  values = {
    version = "1"
  }
}

# Provider validation rejects random IAM members, so each service account
# gets a realistic, distinct identity.
override_resource {
  target = module.profiles.google_service_account.this
  values = {
    email  = "chorus-profiles@chorus-test-1.iam.gserviceaccount.com"
    member = "serviceAccount:chorus-profiles@chorus-test-1.iam.gserviceaccount.com"
    name   = "projects/chorus-test-1/serviceAccounts/chorus-profiles@chorus-test-1.iam.gserviceaccount.com"
    id     = "projects/chorus-test-1/serviceAccounts/chorus-profiles@chorus-test-1.iam.gserviceaccount.com"
  }
}

override_resource {
  target = module.synthesize.google_service_account.this
  values = {
    email  = "chorus-synthesize@chorus-test-1.iam.gserviceaccount.com"
    member = "serviceAccount:chorus-synthesize@chorus-test-1.iam.gserviceaccount.com"
    name   = "projects/chorus-test-1/serviceAccounts/chorus-synthesize@chorus-test-1.iam.gserviceaccount.com"
    id     = "projects/chorus-test-1/serviceAccounts/chorus-synthesize@chorus-test-1.iam.gserviceaccount.com"
  }
}

override_resource {
  target = module.batch.google_service_account.this
  values = {
    email  = "chorus-batch@chorus-test-1.iam.gserviceaccount.com"
    member = "serviceAccount:chorus-batch@chorus-test-1.iam.gserviceaccount.com"
    name   = "projects/chorus-test-1/serviceAccounts/chorus-batch@chorus-test-1.iam.gserviceaccount.com"
    id     = "projects/chorus-test-1/serviceAccounts/chorus-batch@chorus-test-1.iam.gserviceaccount.com"
  }
}

override_resource {
  target = module.status.google_service_account.this
  values = {
    email  = "chorus-status@chorus-test-1.iam.gserviceaccount.com"
    member = "serviceAccount:chorus-status@chorus-test-1.iam.gserviceaccount.com"
    name   = "projects/chorus-test-1/serviceAccounts/chorus-status@chorus-test-1.iam.gserviceaccount.com"
    id     = "projects/chorus-test-1/serviceAccounts/chorus-status@chorus-test-1.iam.gserviceaccount.com"
  }
}

override_resource {
  target = google_service_account.worker
  values = {
    email  = "chorus-worker@chorus-test-1.iam.gserviceaccount.com"
    member = "serviceAccount:chorus-worker@chorus-test-1.iam.gserviceaccount.com"
    name   = "projects/chorus-test-1/serviceAccounts/chorus-worker@chorus-test-1.iam.gserviceaccount.com"
    id     = "projects/chorus-test-1/serviceAccounts/chorus-worker@chorus-test-1.iam.gserviceaccount.com"
  }
}

override_resource {
  target = google_service_account.scheduler
  values = {
    email  = "chorus-scheduler@chorus-test-1.iam.gserviceaccount.com"
    member = "serviceAccount:chorus-scheduler@chorus-test-1.iam.gserviceaccount.com"
    name   = "projects/chorus-test-1/serviceAccounts/chorus-scheduler@chorus-test-1.iam.gserviceaccount.com"
    id     = "projects/chorus-test-1/serviceAccounts/chorus-scheduler@chorus-test-1.iam.gserviceaccount.com"
  }
}

override_resource {
  target = google_service_account.web
  values = {
    email  = "chorus-web@chorus-test-1.iam.gserviceaccount.com"
    member = "serviceAccount:chorus-web@chorus-test-1.iam.gserviceaccount.com"
    name   = "projects/chorus-test-1/serviceAccounts/chorus-web@chorus-test-1.iam.gserviceaccount.com"
    id     = "projects/chorus-test-1/serviceAccounts/chorus-web@chorus-test-1.iam.gserviceaccount.com"
  }
}

override_resource {
  target = google_service_account.function_build
  values = {
    email  = "chorus-fn-build@chorus-test-1.iam.gserviceaccount.com"
    member = "serviceAccount:chorus-fn-build@chorus-test-1.iam.gserviceaccount.com"
    name   = "projects/chorus-test-1/serviceAccounts/chorus-fn-build@chorus-test-1.iam.gserviceaccount.com"
    id     = "projects/chorus-test-1/serviceAccounts/chorus-fn-build@chorus-test-1.iam.gserviceaccount.com"
  }
}

variables {
  project_id             = "chorus-test-1"
  worker_image           = "us-central1-docker.pkg.dev/chorus-test-1/chorus/synth-job@sha256:0000000000000000000000000000000000000000000000000000000000000000"
  web_image              = "us-central1-docker.pkg.dev/chorus-test-1/chorus/web@sha256:0000000000000000000000000000000000000000000000000000000000000000"
  function_source_object = "functions-0000.zip"
}

run "worker_job_requests_one_l4_gpu" {
  command = apply

  assert {
    condition     = google_cloud_run_v2_job.worker.template[0].template[0].node_selector[0].accelerator == "nvidia-l4"
    error_message = "the worker job must run on an NVIDIA L4"
  }
  assert {
    condition     = lookup(google_cloud_run_v2_job.worker.template[0].template[0].containers[0].resources[0].limits, "nvidia.com/gpu", "0") == "1"
    error_message = "the worker container must request exactly one GPU"
  }
  assert {
    condition     = tonumber(google_cloud_run_v2_job.worker.template[0].template[0].containers[0].resources[0].limits["cpu"]) >= 4
    error_message = "a GPU task needs at least 4 CPU"
  }
  assert {
    condition     = tonumber(trimsuffix(google_cloud_run_v2_job.worker.template[0].template[0].containers[0].resources[0].limits["memory"], "Gi")) >= 16
    error_message = "a GPU task needs at least 16Gi of memory"
  }
  assert {
    condition     = tonumber(trimsuffix(google_cloud_run_v2_job.worker.template[0].template[0].timeout, "s")) <= 3600
    error_message = "a GPU task's timeout is capped at one hour"
  }
  assert {
    condition     = google_cloud_run_v2_job.worker.template[0].template[0].containers[0].args == tolist(["--drain"])
    error_message = "the job must run synth-job --drain"
  }
  assert {
    condition     = one([for e in google_cloud_run_v2_job.worker.template[0].template[0].containers[0].env : e.value if e.name == "CHORUS_EXECUTION_PROVIDER"]) == "cuda"
    error_message = "the cloud worker must insist on CUDA instead of falling back to CPU silently"
  }
  assert {
    condition = (
      one([for e in google_cloud_run_v2_job.worker.template[0].template[0].containers[0].env : e.value if e.name == "CHORUS_GPU_MEM_LIMIT"]) == "10GiB" &&
      one([for e in google_cloud_run_v2_job.worker.template[0].template[0].containers[0].env : e.value if e.name == "CHORUS_SESSION_CACHE"]) == "2" &&
      one([for e in google_cloud_run_v2_job.worker.template[0].template[0].containers[0].env : e.value if e.name == "CHORUS_RUN_MAX_IDS"]) == "2048" &&
      one([for e in google_cloud_run_v2_job.worker.template[0].template[0].containers[0].env : e.value if e.name == "CHORUS_CONCURRENT_RUNS"]) == "2"
    )
    error_message = "the worker must size its runs and bound each voice session's CUDA arena for one L4 (2 sessions × 10 GiB, runs of 2048 ids × 2; docs/performance.md)"
  }
  assert {
    condition     = google_cloud_run_v2_job.worker.template[0].template[0].service_account == google_service_account.worker.email
    error_message = "the job must run as its own service account"
  }
}

run "dead_letter_attempts_match_worker" {
  command = apply

  variables {
    max_delivery_attempts = 7
  }

  assert {
    condition     = google_pubsub_subscription.worker.dead_letter_policy[0].max_delivery_attempts == 7
    error_message = "max_delivery_attempts must come from the variable"
  }
  assert {
    condition     = google_pubsub_subscription.worker.dead_letter_policy[0].dead_letter_topic == google_pubsub_topic.dead_letter.id
    error_message = "requests must dead-letter to the dead-letter topic"
  }
  assert {
    condition     = one([for e in google_cloud_run_v2_job.worker.template[0].template[0].containers[0].env : e.value if e.name == "CHORUS_MAX_ATTEMPTS"]) == "7"
    error_message = "the worker's CHORUS_MAX_ATTEMPTS must equal the subscription's max_delivery_attempts"
  }
  assert {
    condition     = one([for e in google_cloud_run_v2_job.worker.template[0].template[0].containers[0].env : e.value if e.name == "CHORUS_DEAD_LETTER_SUBSCRIPTION"]) == google_pubsub_subscription.dead_letter["sweep"].name
    error_message = "the worker must sweep its own dead-letter subscription"
  }
  assert {
    condition     = google_pubsub_subscription.dead_letter["kept"].topic == google_pubsub_topic.dead_letter.id && google_pubsub_subscription.dead_letter["kept"].message_retention_duration == "604800s"
    error_message = "a second dead-letter subscription must keep dead letters for 7 days"
  }
  assert {
    condition     = google_pubsub_topic_iam_member.dead_letter_agent_publisher.member == "serviceAccount:service-123456789012@gcp-sa-pubsub.iam.gserviceaccount.com" && google_pubsub_topic_iam_member.dead_letter_agent_publisher.role == "roles/pubsub.publisher"
    error_message = "the Pub/Sub service agent must be able to publish to the dead-letter topic"
  }
  assert {
    condition     = google_pubsub_subscription_iam_member.dead_letter_agent_subscriber.subscription == google_pubsub_subscription.worker.id && google_pubsub_subscription_iam_member.dead_letter_agent_subscriber.role == "roles/pubsub.subscriber"
    error_message = "the Pub/Sub service agent must be able to acknowledge forwarded messages on the source subscription"
  }
  assert {
    condition     = google_pubsub_topic.requests.schema_settings[0].encoding == "JSON" && google_pubsub_topic.requests.schema_settings[0].schema == google_pubsub_schema.requests.id
    error_message = "requests must be validated against the JSON-encoded schema at publish"
  }
}

run "enqueue_functions_start_the_job" {
  command = apply

  assert {
    condition = alltrue([for f in [module.synthesize.function, module.batch.function] :
    f.service_config[0].environment_variables["CHORUS_WORKER_JOB"] == "projects/chorus-test-1/locations/us-central1/jobs/${google_cloud_run_v2_job.worker.name}"])
    error_message = "the enqueue functions must know the worker job's full name"
  }
  assert {
    condition = alltrue([for f in [module.synthesize.function, module.batch.function] :
    f.service_config[0].environment_variables["CHORUS_STATUS_URL"] == module.status.url])
    error_message = "the enqueue functions must return the status function's URL to clients"
  }
  assert {
    condition     = toset([for k, m in google_cloud_run_v2_job_iam_member.job_runner : k]) == toset(["synthesize", "batch", "scheduler"])
    error_message = "only the enqueue functions and the scheduler may run the job"
  }
  assert {
    condition     = google_cloud_scheduler_job.worker_backstop[0].schedule == "*/10 * * * *"
    error_message = "the backstop must run every 10 minutes by default"
  }
}

run "status_can_sign_urls" {
  command = apply

  assert {
    condition = (
      module.status.token_creator_grant.service_account_id == module.status.service_account.name &&
      module.status.token_creator_grant.member == module.status.service_account.member &&
      module.status.token_creator_grant.role == "roles/iam.serviceAccountTokenCreator"
    )
    error_message = "the status service account must hold token creator on itself"
  }
  assert {
    condition     = alltrue([for f in [module.profiles, module.synthesize, module.batch] : f.token_creator_grant == null && !contains(keys(f.function.service_config[0].environment_variables), "CHORUS_SIGNER_EMAIL")])
    error_message = "only status signs URLs: no other function may create tokens for itself"
  }
  assert {
    condition     = module.status.function.service_config[0].environment_variables["CHORUS_SIGNER_EMAIL"] == module.status.service_account.email
    error_message = "status must sign as its own service account"
  }
  assert {
    condition     = module.status.function.service_config[0].service_account_email == module.status.service_account.email
    error_message = "status must run as the account that signs"
  }
  assert {
    condition = (
      module.status.function.service_config[0].timeout_seconds >= 35 &&
      module.status.function.service_config[0].max_instance_request_concurrency == 80
    )
    error_message = "status holds long polls (20 s + the 10 s request deadline) and shares an instance among 80 waiting fans"
  }
  assert {
    condition = (
      module.status.function.service_config[0].environment_variables["CHORUS_STATUS_RATE_PER_MINUTE"] == "240" &&
      module.status.function.service_config[0].environment_variables["CHORUS_STATUS_RATE_BURST"] == "60"
    )
    error_message = "status must be rate-limited per client (a poll may sign through IAM signBlob)"
  }
  assert {
    condition     = module.status.function.service_config[0].environment_variables["CHORUS_SIGNED_URL_TTL"] == "900s"
    error_message = "signed URLs must default to 15 minutes"
  }
  assert {
    condition     = google_storage_bucket_iam_member.status_audio.bucket == google_storage_bucket.audio.name && google_storage_bucket_iam_member.status_audio.member == module.status.service_account.member && google_storage_bucket_iam_member.status_audio.role == "roles/storage.objectViewer"
    error_message = "a signed URL carries its signer's rights: status must read the audio bucket"
  }
}

run "functions_run_as_their_own_accounts" {
  command = apply

  assert {
    condition = alltrue([for name, f in local.functions :
      f.function.service_config[0].service_account_email == f.service_account.email &&
      f.service_account.account_id == "chorus-${name}" &&
    f.function.name == "chorus-${name}"])
    error_message = "each function must run as its own service account, chorus-NAME"
  }
  assert {
    condition     = length(distinct([for f in values(local.functions) : f.function.service_config[0].service_account_email])) == 4
    error_message = "no two functions may share a service account"
  }
  assert {
    condition = (
      module.profiles.function.build_config[0].entry_point == "Profiles" &&
      module.synthesize.function.build_config[0].entry_point == "Synthesize" &&
      module.batch.function.build_config[0].entry_point == "Batch" &&
      module.status.function.build_config[0].entry_point == "Status"
    )
    error_message = "each function must run its own entry point"
  }
  assert {
    condition = alltrue([for f in values(local.functions) :
      f.function.build_config[0].service_account == google_service_account.function_build.id &&
      f.function.build_config[0].docker_repository == data.google_artifact_registry_repository.chorus.id &&
      f.function.build_config[0].source[0].storage_source[0].bucket == data.google_storage_bucket.sources.name &&
    f.function.build_config[0].source[0].storage_source[0].object == "functions-0000.zip"])
    error_message = "every function must be built by the build account, into the chorus repository, from the uploaded archive"
  }
  assert {
    condition     = module.batch.function.service_config[0].available_memory == "512Mi" && module.profiles.function.service_config[0].max_instance_request_concurrency == 80
    error_message = "each function must take its own settings from function_settings"
  }
  assert {
    condition     = output.function_urls == { for name, f in local.functions : name => f.url } && length(output.function_urls) == 4
    error_message = "function_urls must list the URL of every function"
  }
  assert {
    condition = (
      one([for e in google_cloud_run_v2_service.web.template[0].containers[0].env : e.value if e.name == "CHORUS_PROFILES_URL"]) == module.profiles.url &&
      one([for e in google_cloud_run_v2_service.web.template[0].containers[0].env : e.value if e.name == "CHORUS_SYNTHESIZE_URL"]) == module.synthesize.url &&
      one([for e in google_cloud_run_v2_service.web.template[0].containers[0].env : e.value if e.name == "CHORUS_BATCH_URL"]) == module.batch.url &&
      one([for e in google_cloud_run_v2_service.web.template[0].containers[0].env : e.value if e.name == "CHORUS_STATUS_URL"]) == module.status.url
    )
    error_message = "the web app must be given each function's URL"
  }
  assert {
    condition = alltrue([for f in values(local.functions) :
      f.public_invoker.member == "allUsers" && f.public_invoker.role == "roles/run.invoker" &&
    f.public_invoker.name == f.function.service_config[0].service])
    error_message = "by default the browser may invoke every function"
  }
}

run "only_listed_functions_are_public" {
  command = apply

  variables {
    public_functions = ["status"]
  }

  assert {
    condition     = module.status.public_invoker != null && alltrue([for f in [module.profiles, module.synthesize, module.batch] : f.public_invoker == null])
    error_message = "only the functions in public_functions may be invoked by allUsers"
  }
}

# One retention: the bucket deletes audio after audio_retention_days, and
# the functions and the worker (whose writers set the Firestore TTL field
# expire_at from it) get the same span.
run "one_audio_retention_everywhere" {
  command = apply

  variables {
    audio_retention_days = 3
  }

  assert {
    condition     = one([for r in google_storage_bucket.audio.lifecycle_rule : one(r.condition).age if one(r.action).type == "Delete"]) == 3
    error_message = "the audio bucket must delete audio after audio_retention_days"
  }
  assert {
    condition     = alltrue([for f in values(local.functions) : f.function.service_config[0].environment_variables["CHORUS_AUDIO_RETENTION"] == "72h"])
    error_message = "every function must get CHORUS_AUDIO_RETENTION = audio_retention_days × 24h"
  }
  assert {
    condition     = one([for e in google_cloud_run_v2_job.worker.template[0].template[0].containers[0].env : e.value if e.name == "CHORUS_AUDIO_RETENTION"]) == "72h"
    error_message = "the worker must get CHORUS_AUDIO_RETENTION = audio_retention_days × 24h"
  }
  assert {
    condition     = toset([for f in google_firestore_field.ttl : f.field]) == toset(["expire_at"])
    error_message = "Firestore's TTL must follow the expire_at field the writers set from CHORUS_AUDIO_RETENTION"
  }
  # Dead letters hold fans' text: kept no longer than the audio.
  assert {
    condition = alltrue([for s in concat(values(google_pubsub_subscription.dead_letter), [google_pubsub_subscription.callbacks_dead_letter]) :
    s.message_retention_duration == "259200s"])
    error_message = "dead-letter subscriptions must keep messages no longer than audio_retention_days"
  }
}

run "rejects_a_second_worker_retention" {
  command = plan

  variables {
    worker_extra_env = { CHORUS_AUDIO_RETENTION = "720h" }
  }

  expect_failures = [var.worker_extra_env]
}

run "trusted_proxy_hops_reach_every_function" {
  command = apply

  assert {
    condition     = alltrue([for f in values(local.functions) : f.function.service_config[0].environment_variables["CHORUS_TRUSTED_PROXY_HOPS"] == "1"])
    error_message = "behind Google's front end every function must trust one proxy hop by default"
  }
}

run "trusted_proxy_hops_behind_a_load_balancer" {
  command = apply

  variables {
    trusted_proxy_hops = 2
  }

  assert {
    condition     = alltrue([for f in values(local.functions) : f.function.service_config[0].environment_variables["CHORUS_TRUSTED_PROXY_HOPS"] == "2"])
    error_message = "trusted_proxy_hops must reach every function"
  }
}

run "rejects_too_many_proxy_hops" {
  command = plan

  variables {
    trusted_proxy_hops = 9
  }

  expect_failures = [var.trusted_proxy_hops]
}

run "roles_are_narrow" {
  command = apply

  assert {
    condition = (
      toset([for g in google_storage_bucket_iam_member.worker_audio : g.role]) == toset(["roles/storage.objectCreator", "roles/storage.objectViewer"]) &&
      alltrue([for g in google_storage_bucket_iam_member.worker_audio : g.bucket == google_storage_bucket.audio.name && g.member == google_service_account.worker.member])
    )
    error_message = "the worker only creates audio and reads it back: objectCreator + objectViewer on the audio bucket"
  }
  assert {
    condition     = toset([for g in google_project_iam_member.function_build : g.role]) == toset(["roles/logging.logWriter", "roles/storage.objectViewer"])
    error_message = "the build account's only project roles are log writing and (conditioned) reading Cloud Functions' source copies"
  }
  assert {
    condition = (
      google_project_iam_member.function_build["gcf_sources"].condition[0].expression == "resource.name.startsWith(\"projects/_/buckets/gcf-v2-sources-123456789012-us-central1\")" &&
      length(google_project_iam_member.function_build["logs"].condition) == 0
    )
    error_message = "the build account may read only Cloud Functions' own source bucket through its project grant"
  }
  assert {
    condition = (
      google_artifact_registry_repository_iam_member.function_build.repository == data.google_artifact_registry_repository.chorus.name &&
      google_artifact_registry_repository_iam_member.function_build.role == "roles/artifactregistry.writer" &&
      google_storage_bucket_iam_member.function_build.bucket == data.google_storage_bucket.sources.name &&
      google_storage_bucket_iam_member.function_build.role == "roles/storage.objectViewer"
    )
    error_message = "the build account pushes to the chorus repository and reads the sources bucket, nothing wider"
  }
}

run "backstop_can_be_turned_off" {
  command = plan

  variables {
    backstop_interval_minutes = 0
  }

  assert {
    condition     = length(google_cloud_scheduler_job.worker_backstop) == 0
    error_message = "backstop_interval_minutes = 0 must remove the scheduler"
  }
}

run "rejects_too_few_delivery_attempts" {
  command = plan

  variables {
    max_delivery_attempts = 3
  }

  expect_failures = [var.max_delivery_attempts]
}

run "rejects_a_gpu_task_longer_than_an_hour" {
  command = plan

  variables {
    worker_task_timeout_seconds = 7200
  }

  expect_failures = [var.worker_task_timeout_seconds]
}

# Every workload runs as a service account of its own, which no other
# workload uses, and no two accounts share an id (a shared or default
# identity would hold the union of everyone's roles).
run "every_workload_has_its_own_account" {
  command = apply

  assert {
    condition     = google_cloud_run_v2_job.worker.template[0].template[0].service_account == google_service_account.worker.email
    error_message = "the worker job must run as the worker account"
  }
  assert {
    condition     = google_cloud_run_v2_service.web.template[0].service_account == google_service_account.web.email
    error_message = "the web service must run as the web account"
  }
  assert {
    condition = length(distinct(concat(
      [for f in values(local.functions) : f.function.service_config[0].service_account_email],
      [google_cloud_run_v2_job.worker.template[0].template[0].service_account, google_cloud_run_v2_service.web.template[0].service_account]
    ))) == length(local.functions) + 2
    error_message = "every function, the worker and the web app must run as accounts no other workload uses"
  }
  assert {
    condition = length(distinct(concat(
      [for f in values(local.functions) : f.service_account.account_id],
      [for a in [google_service_account.worker, google_service_account.scheduler, google_service_account.web, google_service_account.function_build] : a.account_id]
    ))) == length(local.functions) + 4
    error_message = "no two service accounts may share an account id"
  }
}

# No grant anywhere is a basic role (owner, editor, viewer): each is a
# predefined role on the narrowest resource.
run "no_basic_roles" {
  command = apply

  assert {
    condition = length(setintersection(toset(concat(
      [for g in concat(values(google_project_iam_member.firestore_reader), values(google_project_iam_member.firestore_writer), values(google_project_iam_member.function_build)) : g.role],
      [for g in concat(values(google_pubsub_topic_iam_member.enqueue_publisher), values(google_pubsub_topic_iam_member.completion_publisher), [google_pubsub_topic_iam_member.worker_dead_letter_publisher, google_pubsub_topic_iam_member.dead_letter_agent_publisher, google_pubsub_topic_iam_member.callbacks_dead_letter_agent]) : g.role],
      [for g in concat(values(google_pubsub_subscription_iam_member.worker_subscriber), [google_pubsub_subscription_iam_member.dead_letter_agent_subscriber, google_pubsub_subscription_iam_member.callbacks_agent_subscriber, google_pubsub_subscription_iam_member.worker_callbacks]) : g.role],
      [for g in concat(values(google_storage_bucket_iam_member.worker_audio), [google_storage_bucket_iam_member.worker_models, google_storage_bucket_iam_member.status_audio, google_storage_bucket_iam_member.function_build]) : g.role],
      [for g in concat(values(google_cloud_run_v2_job_iam_member.job_runner), values(google_cloud_run_v2_job_iam_member.job_watcher)) : g.role],
      [google_artifact_registry_repository_iam_member.function_build.role, google_cloud_run_v2_service_iam_member.web_public.role, module.status.token_creator_grant.role],
      [for f in values(local.functions) : f.public_invoker.role],
    )), ["roles/owner", "roles/editor", "roles/viewer"])) == 0
    error_message = "no grant may be a basic role (roles/owner, roles/editor, roles/viewer)"
  }
}

# A signed URL is the only way to the audio: no bucket grant to everyone.
run "no_bucket_is_granted_to_everyone" {
  command = apply

  assert {
    condition = alltrue([for g in concat(values(google_storage_bucket_iam_member.worker_audio), [google_storage_bucket_iam_member.worker_models, google_storage_bucket_iam_member.status_audio, google_storage_bucket_iam_member.function_build]) :
    !contains(["allUsers", "allAuthenticatedUsers"], g.member)])
    error_message = "no bucket role may go to allUsers or allAuthenticatedUsers"
  }
}

# Issue 14 item 6 / issue 15 item 2: the worker job reads the signing keys
# at the version Terraform wrote (so a first apply creates the version
# before the job), and the profiles function and the outputs publish the
# matching public key as a JSON Web Key.
run "callback_keys_exist_before_the_job_and_are_published" {
  command = apply

  assert {
    condition = one([for e in google_cloud_run_v2_job.worker.template[0].template[0].containers[0].env :
    e.value_source[0].secret_key_ref[0].version if e.name == "CHORUS_CALLBACK_SIGNING_KEYS"]) == google_secret_manager_secret_version.callback.version
    error_message = "the worker job must read the signing keys at the secret version Terraform wrote, not latest (a first apply has no version yet)"
  }
  assert {
    condition = one([for e in google_cloud_run_v2_job.worker.template[0].template[0].containers[0].env :
    e.value_source[0].secret_key_ref[0].secret if e.name == "CHORUS_CALLBACK_SIGNING_KEYS"]) == google_secret_manager_secret.callback.secret_id
    error_message = "the worker job must read the signing keys secret"
  }
  assert {
    condition     = nonsensitive([for k in jsondecode(google_secret_manager_secret_version.callback.secret_data).keys : k.kid]) == ["k1"]
    error_message = "the secret must hold the signing key of each id"
  }
  assert {
    condition     = output.callback_public_keys.keys[0].x == "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo" && output.callback_public_keys.keys[0].kid == "k1"
    error_message = "the published JWK must carry the raw public key, unpadded base64url"
  }
  assert {
    condition     = jsondecode(module.profiles.function.service_config[0].environment_variables["CHORUS_CALLBACK_PUBLIC_KEYS"]) == output.callback_public_keys
    error_message = "the profiles function must serve the keys Terraform outputs"
  }
  assert {
    condition     = endswith(output.callback_keys_url, "/callback-keys.json")
    error_message = "callback_keys_url must name the profiles function's key path"
  }
}

run "callback_key_rotation_publishes_two_keys" {
  command = apply

  variables {
    callback_signing_keys = ["k1", "k2"]
    audio_retention_days  = 30
  }

  assert {
    condition     = [for k in output.callback_public_keys.keys : k.kid] == ["k1", "k2"]
    error_message = "during a rotation both keys must be published"
  }
  assert {
    condition     = nonsensitive(length(jsondecode(google_secret_manager_secret_version.callback.secret_data).keys)) == 2
    error_message = "during a rotation the worker must hold both keys"
  }
  assert {
    condition     = google_pubsub_subscription.dead_letter["kept"].message_retention_duration == "604800s"
    error_message = "Pub/Sub keeps a subscription's messages at most 7 days, however long the audio is kept"
  }
}

run "rejects_three_callback_keys" {
  command = plan

  variables {
    callback_signing_keys = ["k1", "k2", "k3"]
  }

  expect_failures = [var.callback_signing_keys]
}
