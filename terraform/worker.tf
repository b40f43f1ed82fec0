# The synthesis worker: a Cloud Run job that drains the subscription
# (`synth-job --drain`) and exits when the queue stays empty, on one NVIDIA
# L4 (worker_accelerator = "l4") or on CPUs alone ("none": the image built
# from synth-job/Dockerfile.cpu, no CUDA; docs/deploy.md compares the cost).
#
# Executions start when work arrives, not once per message: the enqueue
# functions start one only when none is running (CHORUS_WORKER_JOB), and a
# Cloud Scheduler backstop starts one every var.backstop_interval_minutes
# so that redeliveries published after a drain ended are still picked up.

locals {
  worker_gpu = var.worker_accelerator == "l4"

  # How the engine is sized for the hardware (docs/performance.md).
  worker_engine_env = local.worker_gpu ? tomap({
    # Fail instead of silently synthesising on CPU in the cloud.
    CHORUS_EXECUTION_PROVIDER = "cuda"
    # GPU sizing for one L4 (24 GB), measured in docs/performance.md:
    # each open voice session has its own CUDA arena, bounded by the
    # memory limit, and runs × budget keep each under it.
    CHORUS_SESSION_CACHE    = tostring(var.worker_gpu.sessions)
    CHORUS_GPU_MEM_LIMIT    = var.worker_gpu.mem_limit_per_session
    CHORUS_RUN_MAX_IDS      = tostring(var.worker_gpu.run_max_ids)
    CHORUS_CONCURRENT_RUNS  = tostring(var.worker_gpu.concurrent_runs)
    CHORUS_BATCH_SIZE       = tostring(var.worker_gpu.batch_size)
    CHORUS_BATCH_WAIT       = "${var.worker_gpu.batch_wait_ms}ms"
    CHORUS_CPU_OFFLOAD_IDS  = tostring(var.worker_gpu.cpu_offload_ids)
    CHORUS_INTRA_OP_THREADS = var.worker_cpu
    }) : tomap({
    CHORUS_EXECUTION_PROVIDER = "cpu"
    # Throughput on a CPU host: one ONNX Runtime thread per model run and
    # one run (and one worker batch) in hand per core gave more audio per
    # second than all cores on one run, and one-thread sessions run the
    # decoder lifted to 2-D convolutions (figures: docs/performance.md).
    # Run sizes are the engine's CPU defaults: padding only costs there.
    CHORUS_INTRA_OP_THREADS = "1"
    CHORUS_CONCURRENT_RUNS  = var.worker_cpu
    CHORUS_CONCURRENCY      = var.worker_cpu
    CHORUS_SESSION_CACHE    = tostring(var.worker_gpu.sessions)
  })

  # Memory per task: an L4 task needs at least 16 GiB; a CPU task holds
  # the open voice sessions and the runs in flight (their sizes:
  # docs/performance.md).
  worker_memory = coalesce(var.worker_memory, local.worker_gpu ? "16Gi" : "4Gi")
}

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

      # Without zonal redundancy the GPU quota needed is lower and the
      # task starts where capacity is (the quota Cloud Build checks:
      # scripts/quotacheck). A CPU-only job has neither setting.
      dynamic "node_selector" {
        for_each = local.worker_gpu ? ["nvidia-l4"] : []
        content {
          accelerator = node_selector.value
        }
      }
      gpu_zonal_redundancy_disabled = local.worker_gpu ? true : null

      containers {
        image = var.worker_image
        args  = ["--drain"]

        resources {
          # A GPU task needs at least 4 CPU and 16 GiB.
          limits = merge({
            cpu    = var.worker_cpu
            memory = local.worker_memory
          }, local.worker_gpu ? { "nvidia.com/gpu" = "1" } : {})
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
            # Must equal the subscription's max_delivery_attempts.
            CHORUS_MAX_ATTEMPTS   = tostring(var.max_delivery_attempts)
            CHORUS_MAX_TEXT_CHARS = tostring(var.max_text_chars)
            CHORUS_IDLE_TIMEOUT   = "${var.worker_idle_timeout_seconds}s"
            # The same span as the bucket lifecycle: jobs expire with their audio.
            CHORUS_AUDIO_RETENTION = local.audio_retention
            # Stop pulling well inside the task timeout; the backstop or the
            # next enqueue starts a fresh execution for what is left.
            CHORUS_MAX_RUN = "${max(60, var.worker_task_timeout_seconds - 600)}s"
            # Completions, and clients' callbacks signed with the keys below.
            CHORUS_COMPLETION_TOPIC      = google_pubsub_topic.completed.name
            CHORUS_CALLBACK_SUBSCRIPTION = google_pubsub_subscription.callbacks.name
          }, local.worker_engine_env, var.worker_extra_env)
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
