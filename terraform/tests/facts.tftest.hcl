# One setting, one variable: each setting several places share is given an
# odd value, and every place that carries it must carry that value (so a
# place that spells the default out, or takes it from another variable,
# fails). Plans against a mock provider; the facts that need the service
# accounts' emails are in chorus.tftest.hcl.

mock_provider "google" {
  mock_data "google_project" {
    defaults = {
      number = "123456789012"
    }
  }
  mock_data "google_artifact_registry_repository" {
    defaults = {
      id   = "projects/chorus-test-1/locations/us-central1/repositories/chorus"
      name = "chorus"
    }
  }
}

# Topic ids as the API makes them, known at plan, so the subscriptions'
# topics and dead-letter topics can be compared.
override_resource {
  target          = google_pubsub_topic.requests
  override_during = plan
  values = {
    id = "projects/chorus-test-1/topics/chorus-synthesis-requests"
  }
}

override_resource {
  target          = google_pubsub_topic.dead_letter
  override_during = plan
  values = {
    id = "projects/chorus-test-1/topics/chorus-synthesis-dead-letter"
  }
}

override_resource {
  target          = google_pubsub_topic.completed
  override_during = plan
  values = {
    id = "projects/chorus-test-1/topics/chorus-synthesis-completed"
  }
}

override_resource {
  target          = google_pubsub_topic.callbacks_dead_letter
  override_during = plan
  values = {
    id = "projects/chorus-test-1/topics/chorus-synthesis-callbacks-dead-letter"
  }
}

variables {
  project_id             = "chorus-test-1"
  worker_image           = "us-central1-docker.pkg.dev/chorus-test-1/chorus/synth-job@sha256:0000000000000000000000000000000000000000000000000000000000000000"
  web_image              = "us-central1-docker.pkg.dev/chorus-test-1/chorus/web@sha256:0000000000000000000000000000000000000000000000000000000000000000"
  function_source_object = "functions-0000.zip"
}

# Audio, job and request records (Firestore TTL on expire_at, which the
# functions and the worker set from CHORUS_AUDIO_RETENTION) and status's
# 410 all expire together.
run "audio_retention_reaches_every_place" {
  command = plan

  variables {
    audio_retention_days = 11
  }

  assert {
    condition     = one([for r in google_storage_bucket.audio.lifecycle_rule : one(r.condition).age if one(r.action).type == "Delete"]) == 11
    error_message = "the audio bucket must delete audio after audio_retention_days"
  }
  assert {
    condition     = alltrue([for f in [module.profiles, module.synthesize, module.batch, module.status] : f.function.service_config[0].environment_variables["CHORUS_AUDIO_RETENTION"] == "264h"])
    error_message = "every function must get CHORUS_AUDIO_RETENTION = audio_retention_days × 24h"
  }
  assert {
    condition     = [for e in google_cloud_run_v2_job.worker.template[0].template[0].containers[0].env : e.value if e.name == "CHORUS_AUDIO_RETENTION"] == ["264h"]
    error_message = "the worker must get CHORUS_AUDIO_RETENTION = audio_retention_days × 24h, once"
  }
}

# The worker fails a job on the subscription's last delivery.
run "delivery_attempts_reach_the_subscription_and_the_worker" {
  command = plan

  variables {
    max_delivery_attempts = 17
  }

  assert {
    condition     = google_pubsub_subscription.worker.dead_letter_policy[0].max_delivery_attempts == 17
    error_message = "the worker subscription must dead-letter after max_delivery_attempts"
  }
  assert {
    condition     = [for e in google_cloud_run_v2_job.worker.template[0].template[0].containers[0].env : e.value if e.name == "CHORUS_MAX_ATTEMPTS"] == ["17"]
    error_message = "the worker's CHORUS_MAX_ATTEMPTS must equal the subscription's max_delivery_attempts"
  }
}

# Functions, worker (messages published straight to the topic) and the web
# app's counter all apply one limit.
run "text_limit_reaches_functions_worker_and_web" {
  command = plan

  variables {
    max_text_chars = 777
  }

  assert {
    condition     = alltrue([for f in [module.profiles, module.synthesize, module.batch, module.status] : f.function.service_config[0].environment_variables["CHORUS_MAX_TEXT_CHARS"] == "777"])
    error_message = "every function must get CHORUS_MAX_TEXT_CHARS from max_text_chars"
  }
  assert {
    condition     = [for e in google_cloud_run_v2_job.worker.template[0].template[0].containers[0].env : e.value if e.name == "CHORUS_MAX_TEXT_CHARS"] == ["777"]
    error_message = "the worker must get CHORUS_MAX_TEXT_CHARS from max_text_chars"
  }
  assert {
    condition     = [for e in google_cloud_run_v2_service.web.template[0].containers[0].env : e.value if e.name == "CHORUS_MAX_TEXT_CHARS"] == ["777"]
    error_message = "the web app must get CHORUS_MAX_TEXT_CHARS from max_text_chars"
  }
}

run "batch_limit_reaches_every_function" {
  command = plan

  variables {
    max_batch_items = 333
  }

  # The enqueue functions enforce it (and derive the body limit from it),
  # profiles tells clients, status lists a batch up to it.
  assert {
    condition     = alltrue([for f in [module.profiles, module.synthesize, module.batch, module.status] : f.function.service_config[0].environment_variables["CHORUS_MAX_BATCH_ITEMS"] == "333"])
    error_message = "every function must get CHORUS_MAX_BATCH_ITEMS from max_batch_items"
  }
}

run "status_rate_reaches_status" {
  command = plan

  variables {
    status_rate_per_minute = 123
    status_rate_burst      = 45
  }

  assert {
    condition = (
      module.status.function.service_config[0].environment_variables["CHORUS_STATUS_RATE_PER_MINUTE"] == "123" &&
      module.status.function.service_config[0].environment_variables["CHORUS_STATUS_RATE_BURST"] == "45"
    )
    error_message = "status must limit polls by status_rate_per_minute and status_rate_burst"
  }
}

run "proxy_hops_reach_every_function" {
  command = plan

  variables {
    trusted_proxy_hops = 3
  }

  assert {
    condition     = alltrue([for f in [module.profiles, module.synthesize, module.batch, module.status] : f.function.service_config[0].environment_variables["CHORUS_TRUSTED_PROXY_HOPS"] == "3"])
    error_message = "every function must get CHORUS_TRUSTED_PROXY_HOPS from trusted_proxy_hops"
  }
}

run "signed_url_ttl_reaches_status" {
  command = plan

  variables {
    signed_url_ttl_seconds = 1234
  }

  assert {
    condition     = module.status.function.service_config[0].environment_variables["CHORUS_SIGNED_URL_TTL"] == "1234s"
    error_message = "status must sign URLs for signed_url_ttl_seconds"
  }
}

run "idle_timeout_and_task_timeout_reach_the_worker" {
  command = plan

  variables {
    worker_idle_timeout_seconds = 47
    worker_task_timeout_seconds = 2900
  }

  assert {
    condition     = [for e in google_cloud_run_v2_job.worker.template[0].template[0].containers[0].env : e.value if e.name == "CHORUS_IDLE_TIMEOUT"] == ["47s"]
    error_message = "the worker must idle out after worker_idle_timeout_seconds"
  }
  assert {
    condition = (
      google_cloud_run_v2_job.worker.template[0].template[0].timeout == "2900s" &&
      [for e in google_cloud_run_v2_job.worker.template[0].template[0].containers[0].env : e.value if e.name == "CHORUS_MAX_RUN"] == ["2300s"]
    )
    error_message = "the worker must stop pulling 10 minutes inside its task timeout"
  }
}

run "callback_attempts_reach_the_callback_subscription" {
  command = plan

  variables {
    callback_attempts = 13
  }

  assert {
    condition     = google_pubsub_subscription.callbacks.dead_letter_policy[0].max_delivery_attempts == 13
    error_message = "callbacks must dead-letter after callback_attempts"
  }
}

# Every subscription on a topic that carries work dead-letters to another
# topic after a set number of attempts; the subscriptions on the
# dead-letter topics have nowhere further to send a letter.
run "every_work_subscription_dead_letters_elsewhere" {
  command = plan

  assert {
    condition = (
      google_pubsub_subscription.worker.topic == google_pubsub_topic.requests.id &&
      google_pubsub_subscription.worker.dead_letter_policy[0].dead_letter_topic == google_pubsub_topic.dead_letter.id &&
      google_pubsub_topic.dead_letter.id != google_pubsub_topic.requests.id
    )
    error_message = "requests must dead-letter to the dead-letter topic, not their own"
  }
  assert {
    condition = (
      google_pubsub_subscription.callbacks.topic == google_pubsub_topic.completed.id &&
      google_pubsub_subscription.callbacks.dead_letter_policy[0].dead_letter_topic == google_pubsub_topic.callbacks_dead_letter.id &&
      google_pubsub_topic.callbacks_dead_letter.id != google_pubsub_topic.completed.id
    )
    error_message = "callbacks must dead-letter to their own dead-letter topic, not the completion topic"
  }
  assert {
    condition = alltrue([for s in concat(values(google_pubsub_subscription.dead_letter), [google_pubsub_subscription.callbacks_dead_letter]) :
    contains([google_pubsub_topic.dead_letter.id, google_pubsub_topic.callbacks_dead_letter.id], s.topic) && length(s.dead_letter_policy) == 0])
    error_message = "the only subscriptions without a dead-letter policy are those on the dead-letter topics"
  }
}

# Buckets are never public: uniform access and public access prevention
# (and no grant to everyone: chorus.tftest.hcl, no_bucket_is_granted_to_everyone).
run "buckets_are_private" {
  command = plan

  assert {
    condition     = alltrue([for b in [google_storage_bucket.audio, google_storage_bucket.models] : b.public_access_prevention == "enforced" && b.uniform_bucket_level_access])
    error_message = "every bucket must enforce public access prevention and uniform bucket-level access"
  }
}

# The public grants are exactly the browser's: the web app and the
# functions in public_functions, as run.invoker.
run "only_the_browser_facing_services_are_public" {
  command = plan

  variables {
    public_functions = ["profiles", "status"]
  }

  assert {
    condition     = google_cloud_run_v2_service_iam_member.web_public.member == "allUsers" && google_cloud_run_v2_service_iam_member.web_public.role == "roles/run.invoker"
    error_message = "anyone may load the web app, and only invoke it"
  }
  assert {
    condition = (
      module.profiles.public_invoker.role == "roles/run.invoker" && module.status.public_invoker.role == "roles/run.invoker" &&
      module.synthesize.public_invoker == null && module.batch.public_invoker == null
    )
    error_message = "only the functions in public_functions may be invoked by allUsers"
  }
}
