# A first apply that works, an operator who hears when it stops working,
# and the choice of accelerator: plans against a mock provider.

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

# --- worker_accelerator ------------------------------------------------------

run "l4_is_the_default" {
  command = plan

  assert {
    condition = (
      google_cloud_run_v2_job.worker.template[0].template[0].node_selector[0].accelerator == "nvidia-l4" &&
      google_cloud_run_v2_job.worker.template[0].template[0].gpu_zonal_redundancy_disabled &&
      google_cloud_run_v2_job.worker.template[0].template[0].containers[0].resources[0].limits == tomap({ cpu = "4", memory = "16Gi", "nvidia.com/gpu" = "1" })
    )
    error_message = "by default the worker runs on one L4 without zonal redundancy, with 4 CPU and 16Gi"
  }
  assert {
    condition = (
      [for e in google_cloud_run_v2_job.worker.template[0].template[0].containers[0].env : e.value if e.name == "CHORUS_EXECUTION_PROVIDER"] == ["cuda"] &&
      [for e in google_cloud_run_v2_job.worker.template[0].template[0].containers[0].env : e.value if e.name == "CHORUS_INTRA_OP_THREADS"] == ["4"]
    )
    error_message = "an L4 worker insists on CUDA (no silent CPU fallback) and gives the CPU session every core"
  }
}

run "none_plans_a_job_without_a_gpu" {
  command = plan

  variables {
    worker_accelerator = "none"
    worker_cpu         = "2"
  }

  assert {
    condition     = length(google_cloud_run_v2_job.worker.template[0].template[0].node_selector) == 0
    error_message = "a CPU-only job must not select an accelerator"
  }
  assert {
    condition     = google_cloud_run_v2_job.worker.template[0].template[0].containers[0].resources[0].limits == tomap({ cpu = "2", memory = "4Gi" })
    error_message = "a CPU-only job must ask for its CPUs and 4Gi, and no GPU"
  }
  assert {
    condition     = google_cloud_run_v2_job.worker.template[0].template[0].gpu_zonal_redundancy_disabled == null
    error_message = "a CPU-only job has no GPU redundancy setting"
  }
  assert {
    condition = (
      [for e in google_cloud_run_v2_job.worker.template[0].template[0].containers[0].env : e.value if e.name == "CHORUS_EXECUTION_PROVIDER"] == ["cpu"] &&
      [for e in google_cloud_run_v2_job.worker.template[0].template[0].containers[0].env : e.value if e.name == "CHORUS_INTRA_OP_THREADS"] == ["1"] &&
      [for e in google_cloud_run_v2_job.worker.template[0].template[0].containers[0].env : e.value if e.name == "CHORUS_CONCURRENT_RUNS"] == ["2"] &&
      [for e in google_cloud_run_v2_job.worker.template[0].template[0].containers[0].env : e.value if e.name == "CHORUS_CONCURRENCY"] == ["2"]
    )
    error_message = "a CPU-only worker runs one one-thread session run per CPU (docs/performance.md)"
  }
  assert {
    condition     = length([for e in google_cloud_run_v2_job.worker.template[0].template[0].containers[0].env : e.name if contains(["CHORUS_GPU_MEM_LIMIT", "CHORUS_CPU_OFFLOAD_IDS", "CHORUS_RUN_MAX_IDS"], e.name)]) == 0
    error_message = "a CPU-only worker gets no GPU sizing"
  }
}

run "none_runs_anywhere_cloud_run_does" {
  command = plan

  variables {
    worker_accelerator = "none"
    region             = "europe-west3"
    worker_cpu         = "1"
    worker_memory      = "2Gi"
  }

  assert {
    condition     = google_cloud_run_v2_job.worker.location == "europe-west3" && google_cloud_run_v2_job.worker.template[0].template[0].containers[0].resources[0].limits["memory"] == "2Gi"
    error_message = "without an L4 the region is not limited to L4 regions, and worker_memory is taken as given"
  }
}

run "rejects_an_unknown_accelerator" {
  command = plan

  variables {
    worker_accelerator = "t4"
  }

  expect_failures = [var.worker_accelerator]
}

run "rejects_too_few_cpus_for_an_l4" {
  command = plan

  variables {
    worker_cpu = "2"
  }

  expect_failures = [var.worker_cpu]
}

run "rejects_too_little_memory_for_an_l4" {
  command = plan

  variables {
    worker_memory = "8Gi"
  }

  expect_failures = [var.worker_memory]
}

run "a_cpu_task_may_run_longer_than_an_hour" {
  command = plan

  variables {
    worker_accelerator          = "none"
    worker_task_timeout_seconds = 7200
  }

  assert {
    condition     = google_cloud_run_v2_job.worker.template[0].template[0].timeout == "7200s"
    error_message = "a CPU task may run up to 168 hours"
  }
}

# --- region ------------------------------------------------------------------

run "l4_regions_are_accepted" {
  command = plan

  variables {
    region = "europe-west4"
  }

  assert {
    condition     = google_cloud_run_v2_job.worker.location == "europe-west4" && google_pubsub_topic.requests.message_storage_policy[0].allowed_persistence_regions == toset(["europe-west4"])
    error_message = "the job and the queue must live in the chosen region"
  }
}

run "rejects_a_region_without_l4_jobs" {
  command = plan

  variables {
    region = "europe-west3"
  }

  expect_failures = [var.region]
}

run "rejects_a_malformed_region" {
  command = plan

  variables {
    region             = "Europe West"
    worker_accelerator = "none"
  }

  expect_failures = [var.region]
}

# --- alerts ------------------------------------------------------------------

run "alerts_watch_the_queue_the_dead_letters_the_job_and_status" {
  command = plan

  variables {
    alert_notification_channels = ["projects/chorus-test-1/notificationChannels/4242"]
    alert_request_age_seconds   = 420
    alert_status_5xx_ratio      = 0.07
  }

  assert {
    condition = alltrue([for p in [google_monitoring_alert_policy.request_age, google_monitoring_alert_policy.dead_letters, google_monitoring_alert_policy.worker_failures, google_monitoring_alert_policy.status_errors] :
    p.notification_channels == tolist(["projects/chorus-test-1/notificationChannels/4242"])])
    error_message = "every alert must notify the channels of alert_notification_channels"
  }
  assert {
    condition = alltrue([for p in [google_monitoring_alert_policy.request_age, google_monitoring_alert_policy.dead_letters, google_monitoring_alert_policy.worker_failures, google_monitoring_alert_policy.status_errors] :
    p.documentation[0].mime_type == "text/markdown" && length(p.documentation[0].content) > 300 && strcontains(p.documentation[0].content, "gcloud")])
    error_message = "every alert must carry a playbook: what it means and the commands to look further"
  }
  assert {
    condition = (
      strcontains(google_monitoring_alert_policy.request_age.conditions[0].condition_threshold[0].filter, "pubsub.googleapis.com/subscription/oldest_unacked_message_age") &&
      strcontains(google_monitoring_alert_policy.request_age.conditions[0].condition_threshold[0].filter, "subscription_id = \"${google_pubsub_subscription.worker.name}\"") &&
      google_monitoring_alert_policy.request_age.conditions[0].condition_threshold[0].threshold_value == 420 &&
      google_monitoring_alert_policy.request_age.conditions[0].condition_threshold[0].comparison == "COMPARISON_GT"
    )
    error_message = "the request alert must fire when the worker subscription's oldest unacked message is older than alert_request_age_seconds"
  }
  assert {
    condition = (
      strcontains(google_monitoring_alert_policy.dead_letters.conditions[0].condition_threshold[0].filter, "pubsub.googleapis.com/subscription/num_undelivered_messages") &&
      strcontains(google_monitoring_alert_policy.dead_letters.conditions[0].condition_threshold[0].filter, "\"${google_pubsub_subscription.dead_letter["kept"].name}\"") &&
      strcontains(google_monitoring_alert_policy.dead_letters.conditions[0].condition_threshold[0].filter, "\"${google_pubsub_subscription.callbacks_dead_letter.name}\"") &&
      google_pubsub_subscription.dead_letter["kept"].topic == google_pubsub_topic.dead_letter.id &&
      google_pubsub_subscription.callbacks_dead_letter.topic == google_pubsub_topic.callbacks_dead_letter.id &&
      google_monitoring_alert_policy.dead_letters.conditions[0].condition_threshold[0].threshold_value == 0
    )
    error_message = "the dead-letter alert must fire on any letter kept from either dead-letter topic"
  }
  assert {
    condition = (
      strcontains(google_monitoring_alert_policy.worker_failures.conditions[0].condition_threshold[0].filter, "run.googleapis.com/job/completed_execution_count") &&
      strcontains(google_monitoring_alert_policy.worker_failures.conditions[0].condition_threshold[0].filter, "metric.labels.result = \"failed\"") &&
      strcontains(google_monitoring_alert_policy.worker_failures.conditions[0].condition_threshold[0].filter, "job_name = \"${google_cloud_run_v2_job.worker.name}\"")
    )
    error_message = "the execution alert must fire on failed executions of the worker job"
  }
  assert {
    condition = (
      strcontains(google_monitoring_alert_policy.status_errors.conditions[0].condition_threshold[0].filter, "response_code_class = \"5xx\"") &&
      strcontains(google_monitoring_alert_policy.status_errors.conditions[0].condition_threshold[0].filter, "service_name = \"${module.status.function.name}\"") &&
      !strcontains(google_monitoring_alert_policy.status_errors.conditions[0].condition_threshold[0].denominator_filter, "5xx") &&
      strcontains(google_monitoring_alert_policy.status_errors.conditions[0].condition_threshold[0].denominator_filter, "service_name = \"${module.status.function.name}\"") &&
      google_monitoring_alert_policy.status_errors.conditions[0].condition_threshold[0].threshold_value == 0.07
    )
    error_message = "the status alert must compare 5xx answers of the status function with all its answers, against alert_status_5xx_ratio"
  }
}

run "alerts_exist_without_a_channel" {
  command = plan

  assert {
    condition     = length(google_monitoring_alert_policy.request_age.notification_channels) == 0 && google_monitoring_alert_policy.request_age.display_name == "chorus: synthesis requests waiting too long"
    error_message = "without channels the policies still exist (incidents open in the console)"
  }
}

run "rejects_a_malformed_channel" {
  command = plan

  variables {
    alert_notification_channels = ["my-email@example.com"]
  }

  expect_failures = [var.alert_notification_channels]
}
