# The synthesis worker: a Cloud Run job on one NVIDIA L4 that drains the
# subscription (`synth-job --drain`) and exits when the queue stays empty.
#
# Executions start when work arrives, not once per message: the enqueue
# functions start one only when none is running (CHORUS_WORKER_JOB), and a
# Cloud Scheduler backstop starts one every var.backstop_interval_minutes
# so that redeliveries published after a drain ended are still picked up.

resource "google_cloud_run_v2_job" "worker" {
  name                = "${local.prefix}-synth-job"
  location            = var.region
  deletion_protection = var.deletion_protection

  template {
    task_count  = var.worker_task_count
    parallelism = var.worker_parallelism

    template {
      service_account = google_service_account.worker.email
      timeout         = "${var.worker_task_timeout_seconds}s"
      max_retries     = var.worker_max_retries

      # L4 is the only GPU Cloud Run offers; without zonal redundancy the
      # GPU quota needed is lower and the task starts where capacity is.
      node_selector {
        accelerator = "nvidia-l4"
      }
      gpu_zonal_redundancy_disabled = true

      containers {
        image = var.worker_image
        args  = ["--drain"]

        resources {
          # A GPU task needs at least 4 CPU and 16 GiB.
          limits = {
            cpu              = var.worker_cpu
            memory           = var.worker_memory
            "nvidia.com/gpu" = "1"
          }
        }

        dynamic "env" {
          for_each = merge({
            GOOGLE_CLOUD_PROJECT            = var.project_id
            CHORUS_SUBSCRIPTION             = google_pubsub_subscription.worker.name
            CHORUS_DEAD_LETTER_SUBSCRIPTION = google_pubsub_subscription.dead_letter["sweep"].name
            CHORUS_DEAD_LETTER_TOPIC        = google_pubsub_topic.dead_letter.name
            CHORUS_TOPIC                    = google_pubsub_topic.requests.name
            CHORUS_AUDIO_BUCKET             = google_storage_bucket.audio.name
            CHORUS_MODELS_BUCKET            = google_storage_bucket.models.name
            CHORUS_ORT_LIBRARY              = var.worker_ort_library
            # Fail instead of silently synthesising on CPU in the cloud.
            CHORUS_EXECUTION_PROVIDER = "cuda"
            # Must equal the subscription's max_delivery_attempts.
            CHORUS_MAX_ATTEMPTS   = tostring(var.max_delivery_attempts)
            CHORUS_MAX_TEXT_CHARS = tostring(var.max_text_chars)
            CHORUS_IDLE_TIMEOUT   = "${var.worker_idle_timeout_seconds}s"
            # The same span as the bucket lifecycle: jobs expire with their audio.
            CHORUS_AUDIO_RETENTION = local.audio_retention
            # Stop pulling well inside the task timeout; the backstop or the
            # next enqueue starts a fresh execution for what is left.
            CHORUS_MAX_RUN = "${max(60, var.worker_task_timeout_seconds - 600)}s"
            # GPU sizing for one L4 (24 GB), measured in docs/performance.md:
            # each open voice session has its own CUDA arena, bounded by
            # the memory limit, and runs × budget keep each under it.
            CHORUS_SESSION_CACHE    = tostring(var.worker_gpu.sessions)
            CHORUS_GPU_MEM_LIMIT    = var.worker_gpu.mem_limit_per_session
            CHORUS_RUN_MAX_IDS      = tostring(var.worker_gpu.run_max_ids)
            CHORUS_CONCURRENT_RUNS  = tostring(var.worker_gpu.concurrent_runs)
            CHORUS_BATCH_SIZE       = tostring(var.worker_gpu.batch_size)
            CHORUS_BATCH_WAIT       = "${var.worker_gpu.batch_wait_ms}ms"
            CHORUS_CPU_OFFLOAD_IDS  = tostring(var.worker_gpu.cpu_offload_ids)
            CHORUS_INTRA_OP_THREADS = tostring(var.worker_cpu)
            # Completions, and clients' callbacks signed with the keys below.
            CHORUS_COMPLETION_TOPIC      = google_pubsub_topic.completed.name
            CHORUS_CALLBACK_SUBSCRIPTION = google_pubsub_subscription.callbacks.name
          }, var.worker_extra_env)
          content {
            name  = env.key
            value = env.value
          }
        }
        # The version Terraform wrote, not "latest": Cloud Run checks the
        # version when it creates the job, so the job waits for it.
        env {
          name = "CHORUS_CALLBACK_SIGNING_KEYS"
          value_source {
            secret_key_ref {
              secret  = google_secret_manager_secret.callback.secret_id
              version = google_secret_manager_secret_version.callback.version
            }
          }
        }
      }
    }
  }

  depends_on = [
    google_project_iam_member.firestore_writer,
    google_pubsub_subscription_iam_member.worker_subscriber,
    google_storage_bucket_iam_member.worker_audio,
    google_storage_bucket_iam_member.worker_models,
    google_secret_manager_secret_iam_member.worker_callback,
  ]
}

# Backstop: run the job every N minutes (0 turns it off). An execution that
# finds the queue empty exits after CHORUS_IDLE_TIMEOUT, so each tick costs
# about one GPU instance start plus the idle timeout.
resource "google_cloud_scheduler_job" "worker_backstop" {
  count = var.backstop_interval_minutes > 0 ? 1 : 0

  name             = "${local.prefix}-synth-job-backstop"
  region           = var.region
  description      = "Runs ${google_cloud_run_v2_job.worker.name} so redelivered requests are not stranded."
  schedule         = "*/${var.backstop_interval_minutes} * * * *"
  time_zone        = "Etc/UTC"
  attempt_deadline = "60s"

  retry_config {
    retry_count = 1
  }

  http_target {
    http_method = "POST"
    uri         = "https://run.googleapis.com/v2/${local.worker_job_name}:run"

    oauth_token {
      service_account_email = google_service_account.scheduler.email
      scope                 = "https://www.googleapis.com/auth/cloud-platform"
    }
  }

  depends_on = [google_cloud_run_v2_job_iam_member.job_runner]
}
