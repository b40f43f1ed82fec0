# --- Project -----------------------------------------------------------------

variable "project_id" {
  description = "Google Cloud project to deploy into (an empty project with billing enabled)."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.project_id))
    error_message = "project_id must be a Google Cloud project id (6-30 lowercase letters, digits, hyphens)."
  }
}

variable "region" {
  description = "Region for every regional resource. With worker_accelerator = \"l4\" it must be one where Cloud Run jobs get an NVIDIA L4: us-central1, europe-west1, europe-west4, asia-southeast1 or asia-south1 (by invitation)."
  type        = string
  default     = "us-central1"

  validation {
    condition     = can(regex("^[a-z]+-[a-z]+[0-9]+$", var.region))
    error_message = "region must be a Google Cloud region name such as us-central1."
  }

  # Where Cloud Run jobs offer the NVIDIA L4, from "Configure GPUs for
  # Cloud Run jobs" (https://cloud.google.com/run/docs/configuring/jobs/gpu,
  # "Supported regions"), read 2026-12-07: us-central1, asia-southeast1,
  # europe-west1, europe-west4, and asia-south1 by invitation only. (The
  # pages for GPU services and worker pools also list us-east4; the jobs
  # page did not, so it is left out until it does.) A region on this list
  # can still have no L4 quota: Cloud Build checks that before applying
  # (scripts/quotacheck).
  validation {
    condition     = var.worker_accelerator != "l4" || contains(["us-central1", "europe-west1", "europe-west4", "asia-southeast1", "asia-south1"], var.region)
    error_message = "Cloud Run jobs get an NVIDIA L4 only in us-central1, europe-west1, europe-west4, asia-southeast1 and asia-south1 (by invitation): pick one of those, or set worker_accelerator = \"none\" for a CPU-only worker."
  }
}

variable "firestore_location" {
  description = "Firestore location (a region or a multi-region such as nam5). Null uses var.region. Cannot change after creation."
  type        = string
  default     = null
}

variable "name_prefix" {
  description = "Prefix of every resource name; lets two deployments share a project. Short, because service account ids are limited to 30 characters."
  type        = string
  default     = "chorus"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,11}$", var.name_prefix))
    error_message = "name_prefix must be 2-12 characters: a lowercase letter, then lowercase letters, digits or hyphens."
  }
}

variable "labels" {
  description = "Extra labels put on every resource that supports labels (app = chorus is always set)."
  type        = map(string)
  default     = {}
}

variable "deletion_protection" {
  description = "Protect the Firestore database, the worker job and the web service from deletion, and refuse to destroy a non-empty audio bucket. Set false for throw-away environments."
  type        = bool
  default     = true
}

# --- Artifacts (set by Cloud Build) --------------------------------------------

variable "worker_image" {
  description = "synth-job container image, preferably pinned by digest (REGION-docker.pkg.dev/PROJECT/chorus/synth-job@sha256:...)."
  type        = string
}

variable "web_image" {
  description = "Web app container image, preferably pinned by digest (REGION-docker.pkg.dev/PROJECT/chorus/web@sha256:...)."
  type        = string
}

variable "function_source_object" {
  description = "Object name, in the sources bucket, of the function source archive made by scripts/package-functions.sh (functions-SHA256.zip). A new name redeploys the functions."
  type        = string

  validation {
    condition     = endswith(var.function_source_object, ".zip")
    error_message = "function_source_object must name a .zip archive."
  }
}

# --- Storage -------------------------------------------------------------------

variable "audio_retention_days" {
  description = "Synthesised audio is deleted this many days after it was written (bucket lifecycle); the functions and the worker get the same span as CHORUS_AUDIO_RETENTION, so job and request records expire (Firestore TTL) and status answers 410 with the audio."
  type        = number
  default     = 7

  validation {
    condition     = var.audio_retention_days >= 1 && floor(var.audio_retention_days) == var.audio_retention_days
    error_message = "audio_retention_days must be a whole number of days, at least 1."
  }
}

# --- Queue ---------------------------------------------------------------------

variable "max_delivery_attempts" {
  description = "Deliveries of one request before Pub/Sub moves it to the dead-letter topic (5-100). The worker gets the same value as CHORUS_MAX_ATTEMPTS."
  type        = number
  default     = 5

  validation {
    condition     = var.max_delivery_attempts >= 5 && var.max_delivery_attempts <= 100
    error_message = "max_delivery_attempts must be between 5 and 100 (Pub/Sub's limits)."
  }
}

variable "ack_deadline_seconds" {
  description = "Initial ack deadline of the worker subscription (10-600 s); the client extends it while a synthesis runs."
  type        = number
  default     = 120

  validation {
    condition     = var.ack_deadline_seconds >= 10 && var.ack_deadline_seconds <= 600
    error_message = "ack_deadline_seconds must be between 10 and 600."
  }
}

variable "request_retention_seconds" {
  description = "How long the worker subscription keeps an unacknowledged request (600 s to 7 days). Older requests are stale for a listener."
  type        = number
  default     = 86400

  validation {
    condition     = var.request_retention_seconds >= 600 && var.request_retention_seconds <= 604800
    error_message = "request_retention_seconds must be between 600 and 604800."
  }
}

variable "retry_min_backoff_seconds" {
  description = "Shortest wait before a nacked request is redelivered (0-600 s)."
  type        = number
  default     = 10

  validation {
    condition     = var.retry_min_backoff_seconds >= 0 && var.retry_min_backoff_seconds <= 600
    error_message = "retry_min_backoff_seconds must be between 0 and 600."
  }
}

variable "retry_max_backoff_seconds" {
  description = "Longest wait before a nacked request is redelivered (0-600 s, at least the minimum)."
  type        = number
  default     = 300

  validation {
    condition     = var.retry_max_backoff_seconds >= var.retry_min_backoff_seconds && var.retry_max_backoff_seconds <= 600
    error_message = "retry_max_backoff_seconds must be between retry_min_backoff_seconds and 600."
  }
}

# --- Functions -----------------------------------------------------------------

variable "function_runtime" {
  description = "Cloud Functions Go runtime; must be at or above the go line of go.mod."
  type        = string
  default     = "go126"
}

variable "function_settings" {
  description = "Per-function resources and scaling. Concurrency above 1 needs cpu of at least 1."
  type = map(object({
    memory          = optional(string, "256Mi")
    cpu             = optional(string, "1")
    timeout_seconds = optional(number, 30)
    min_instances   = optional(number, 0)
    max_instances   = optional(number, 10)
    concurrency     = optional(number, 40)
  }))
  default = {
    profiles   = { timeout_seconds = 10, max_instances = 10, concurrency = 80 }
    synthesize = { timeout_seconds = 30, max_instances = 20, concurrency = 40 }
    batch      = { memory = "512Mi", timeout_seconds = 60, max_instances = 5, concurrency = 10 }
    # status holds long polls (?wait= up to 20 s on top of the 10 s
    # request deadline): its timeout covers both. Its waiting requests are
    # idle goroutines with one Firestore listen stream each, so many share
    # an instance; 80 keeps an instance's streams under the ~100 concurrent
    # streams of its one gRPC connection to Firestore.
    status = { timeout_seconds = 40, max_instances = 20, concurrency = 80 }
  }

  validation {
    condition     = length(setsubtract(["profiles", "synthesize", "batch", "status"], keys(var.function_settings))) == 0 && length(var.function_settings) == 4
    error_message = "function_settings must have exactly the keys profiles, synthesize, batch and status."
  }

  validation {
    condition     = alltrue([for s in values(var.function_settings) : s.min_instances >= 0 && s.max_instances >= max(1, s.min_instances) && s.timeout_seconds >= 1 && s.timeout_seconds <= 3600 && s.concurrency >= 1])
    error_message = "Each function needs 0 <= min_instances <= max_instances, max_instances >= 1, timeout_seconds in 1..3600 and concurrency >= 1."
  }

  validation {
    # functions/api: MaxStatusWait (20 s) + DefaultTimeout (10 s), and room to answer.
    condition     = var.function_settings["status"].timeout_seconds >= 35
    error_message = "function_settings.status.timeout_seconds must be at least 35: a long poll waits up to 20 s on top of the 10 s request deadline."
  }
}

variable "public_functions" {
  description = "Functions anyone on the internet may invoke (the browser calls them directly). The others accept only authenticated callers with run.invoker."
  type        = set(string)
  default     = ["profiles", "synthesize", "batch", "status"]

  validation {
    condition     = length(setsubtract(var.public_functions, ["profiles", "synthesize", "batch", "status"])) == 0
    error_message = "public_functions may only name profiles, synthesize, batch and status."
  }
}

variable "trusted_proxy_hops" {
  description = "Proxies in front of the functions that append the client's address to X-Forwarded-For (CHORUS_TRUSTED_PROXY_HOPS): 1 for Cloud Run functions behind Google's front end, 2 behind an external HTTPS load balancer (0 is the local stack, where nothing does). The rate limit keys on the address that many entries from the right."
  type        = number
  default     = 1

  validation {
    condition     = var.trusted_proxy_hops >= 0 && var.trusted_proxy_hops <= 8 && floor(var.trusted_proxy_hops) == var.trusted_proxy_hops
    error_message = "trusted_proxy_hops must be a whole number between 0 and 8."
  }
}

variable "extra_allowed_origins" {
  description = "Browser origins allowed by CORS besides the web app's own run.app URL (e.g. a custom domain, https://chorus.example.com)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for o in var.extra_allowed_origins : can(regex("^https?://[^/]+$", o))])
    error_message = "Each origin must look like https://host[:port], without a path."
  }
}

variable "signed_url_ttl_seconds" {
  description = "Validity of the signed audio URLs status returns (1 s to 7 days)."
  type        = number
  default     = 900

  validation {
    condition     = var.signed_url_ttl_seconds >= 1 && var.signed_url_ttl_seconds <= 604800
    error_message = "signed_url_ttl_seconds must be between 1 and 604800 (V4 signed URLs last at most 7 days)."
  }
}

variable "max_text_chars" {
  description = "Longest text of one request, in characters; functions and worker get the same value."
  type        = number
  default     = 1000

  validation {
    condition     = var.max_text_chars >= 1 && var.max_text_chars <= 10000
    error_message = "max_text_chars must be between 1 and 10000."
  }
}

variable "max_batch_items" {
  description = "Most items one batch request may hold."
  type        = number
  default     = 100

  validation {
    condition     = var.max_batch_items >= 1 && var.max_batch_items <= 1000
    error_message = "max_batch_items must be between 1 and 1000."
  }
}

variable "rate_per_minute" {
  description = "Enqueue requests each client may make per minute, per function instance (0 disables the limit)."
  type        = number
  default     = 60
}

variable "rate_burst" {
  description = "Burst of enqueue requests each client may make above the per-minute rate."
  type        = number
  default     = 20
}

variable "status_rate_per_minute" {
  description = "Status requests each client (an IPv4 address or an IPv6 /64) may make per minute, per status instance (0 disables the limit); a long poll (?wait=) is one request. Each poll of a finished job may sign URLs through IAM signBlob."
  type        = number
  default     = 240

  validation {
    condition     = var.status_rate_per_minute >= 0 && floor(var.status_rate_per_minute) == var.status_rate_per_minute
    error_message = "status_rate_per_minute must be a whole number, 0 or more."
  }
}

variable "status_rate_burst" {
  description = "Burst of status requests each client may make above the per-minute rate."
  type        = number
  default     = 60

  validation {
    condition     = var.status_rate_burst >= 0 && floor(var.status_rate_burst) == var.status_rate_burst
    error_message = "status_rate_burst must be a whole number, 0 or more."
  }
}

variable "web_job_deadline_seconds" {
  description = "How long the web app waits for one clip before it tells the fan it is taking too long (the clip stays in Recent, where the fan can check again)."
  type        = number
  default     = 180

  validation {
    condition     = var.web_job_deadline_seconds >= 5 && var.web_job_deadline_seconds <= 86400 && floor(var.web_job_deadline_seconds) == var.web_job_deadline_seconds
    error_message = "web_job_deadline_seconds must be a whole number of seconds between 5 and 86400."
  }
}

variable "web_status_wait_seconds" {
  description = "The status long-poll the web app asks for (GET status?id=…&wait=S, answered when the job ends); 0 makes it poll. A status function that ignores wait is polled on the app's backoff."
  type        = number
  default     = 20

  validation {
    condition     = var.web_status_wait_seconds >= 0 && var.web_status_wait_seconds <= 20 && floor(var.web_status_wait_seconds) == var.web_status_wait_seconds
    error_message = "web_status_wait_seconds must be a whole number of seconds between 0 and 20."
  }
}

# --- Worker job ----------------------------------------------------------------

variable "worker_accelerator" {
  description = "What the worker job synthesises on: \"l4\" (one NVIDIA L4 per task, the CUDA image of synth-job/Dockerfile) or \"none\" (CPUs only: the image of synth-job/Dockerfile.cpu, no CUDA, one ONNX Runtime thread per run and one run per CPU). Cloud Build builds the matching image (_WORKER_ACCELERATOR). docs/deploy.md compares their cost."
  type        = string
  default     = "l4"

  validation {
    condition     = contains(["l4", "none"], var.worker_accelerator)
    error_message = "worker_accelerator must be \"l4\" or \"none\"."
  }
}

variable "worker_cpu" {
  description = "CPU per worker task: 4, 6 or 8 with an L4 (a GPU task needs at least 4); 1, 2, 4, 6 or 8 without. A CPU-only worker runs one model run per CPU."
  type        = string
  default     = "4"

  validation {
    condition     = contains(var.worker_accelerator == "l4" ? ["4", "6", "8"] : ["1", "2", "4", "6", "8"], var.worker_cpu)
    error_message = "worker_cpu must be 4, 6 or 8 with an L4 (Cloud Run GPU tasks need at least 4 CPU), or 1, 2, 4, 6 or 8 without."
  }
}

variable "worker_memory" {
  description = "Memory per worker task, like 16Gi. Null: 16Gi with an L4 (the least a GPU task may have), 4Gi without. An L4 task needs 16Gi-32Gi, a CPU task 2Gi-32Gi."
  type        = string
  default     = null

  validation {
    condition = var.worker_memory == null || (
      can(regex("^[0-9]+Gi$", var.worker_memory)) &&
      tonumber(trimsuffix(coalesce(var.worker_memory, "0Gi"), "Gi")) >= (var.worker_accelerator == "l4" ? 16 : 2) &&
      tonumber(trimsuffix(coalesce(var.worker_memory, "0Gi"), "Gi")) <= 32
    )
    error_message = "worker_memory must be written like 16Gi: 16Gi-32Gi with an L4, 2Gi-32Gi without."
  }
}

variable "worker_task_timeout_seconds" {
  description = "Task timeout of the worker; Cloud Run caps GPU tasks at 1 hour and CPU tasks at 168 hours. A drain ends long before when the queue goes idle."
  type        = number
  default     = 3600

  validation {
    condition     = var.worker_task_timeout_seconds >= 60 && var.worker_task_timeout_seconds <= (var.worker_accelerator == "l4" ? 3600 : 604800)
    error_message = "worker_task_timeout_seconds must be between 60 and 3600 with an L4 (GPU task limit), or up to 604800 without."
  }
}

variable "worker_max_retries" {
  description = "Retries of a failed worker task (0-10). Requests survive a crash anyway (unacked messages are redelivered), so few are needed."
  type        = number
  default     = 1

  validation {
    condition     = var.worker_max_retries >= 0 && var.worker_max_retries <= 10
    error_message = "worker_max_retries must be between 0 and 10."
  }
}

variable "worker_task_count" {
  description = "Tasks per execution; each task is one GPU instance draining the same subscription."
  type        = number
  default     = 1

  validation {
    condition     = var.worker_task_count >= 1 && var.worker_task_count <= 100
    error_message = "worker_task_count must be between 1 and 100."
  }
}

variable "worker_parallelism" {
  description = "Tasks of one execution that run at once (at most worker_task_count; bounded by GPU quota)."
  type        = number
  default     = 1

  validation {
    condition     = var.worker_parallelism >= 1 && var.worker_parallelism <= var.worker_task_count
    error_message = "worker_parallelism must be between 1 and worker_task_count."
  }
}

variable "worker_idle_timeout_seconds" {
  description = "A draining worker exits after the queue stayed empty this long."
  type        = number
  default     = 30

  validation {
    condition     = var.worker_idle_timeout_seconds >= 5
    error_message = "worker_idle_timeout_seconds must be at least 5."
  }
}

variable "worker_ort_library" {
  description = "Path of the ONNX Runtime library inside the worker image (synth-job/Dockerfile installs the GPU build there, synth-job/Dockerfile.cpu the CPU build)."
  type        = string
  default     = "/opt/onnxruntime/lib/libonnxruntime.so"
}

variable "worker_gpu" {
  description = "How the worker sizes its work for the GPU (see docs/performance.md): voice sessions kept open, each one's CUDA arena limit, padded phoneme ids per model run, runs in flight, jobs per batch and how long a batch waits to fill, and the largest run sent to the CPU instead. With worker_accelerator = \"none\" only sessions applies (the voices kept open in memory)."
  type = object({
    sessions              = optional(number, 2)
    mem_limit_per_session = optional(string, "10GiB")
    run_max_ids           = optional(number, 2048)
    concurrent_runs       = optional(number, 2)
    batch_size            = optional(number, 128)
    batch_wait_ms         = optional(number, 200)
    cpu_offload_ids       = optional(number, 128)
  })
  default = {}

  validation {
    condition = (var.worker_gpu.sessions >= 1 && var.worker_gpu.run_max_ids >= 64 && var.worker_gpu.run_max_ids <= 1048576 &&
      var.worker_gpu.concurrent_runs >= 1 && var.worker_gpu.concurrent_runs <= 16 && var.worker_gpu.batch_size >= 1 &&
      var.worker_gpu.batch_size <= 1024 && var.worker_gpu.batch_wait_ms >= 0 && var.worker_gpu.cpu_offload_ids >= 0 &&
    can(regex("^[0-9]+(GiB|MiB)$", var.worker_gpu.mem_limit_per_session)))
    error_message = "worker_gpu: sessions ≥ 1, run_max_ids 64…1048576, concurrent_runs 1…16, batch_size 1…1024, batch_wait_ms ≥ 0, cpu_offload_ids ≥ 0, mem_limit_per_session like \"10GiB\"."
  }
}

variable "worker_extra_env" {
  description = "Extra worker settings (e.g. CHORUS_LEASE, or CHORUS_CONCURRENCY, which a CPU-only worker otherwise sets to worker_cpu). Variables Terraform already sets cannot be overridden here (the GPU sizing is var.worker_gpu)."
  type        = map(string)
  default     = {}

  validation {
    condition = length(setintersection(keys(var.worker_extra_env), [
      "GOOGLE_CLOUD_PROJECT", "CHORUS_SUBSCRIPTION", "CHORUS_DEAD_LETTER_SUBSCRIPTION", "CHORUS_AUDIO_BUCKET",
      "CHORUS_MODELS_BUCKET", "CHORUS_ORT_LIBRARY", "CHORUS_EXECUTION_PROVIDER", "CHORUS_MAX_ATTEMPTS",
      "CHORUS_MAX_TEXT_CHARS", "CHORUS_IDLE_TIMEOUT", "CHORUS_DEAD_LETTER_TOPIC", "CHORUS_MAX_RUN", "CHORUS_TOPIC",
      "CHORUS_SESSION_CACHE", "CHORUS_GPU_MEM_LIMIT", "CHORUS_RUN_MAX_IDS", "CHORUS_CONCURRENT_RUNS", "CHORUS_BATCH_SIZE",
      "CHORUS_BATCH_WAIT", "CHORUS_CPU_OFFLOAD_IDS", "CHORUS_INTRA_OP_THREADS", "CHORUS_COMPLETION_TOPIC",
      "CHORUS_CALLBACK_SUBSCRIPTION", "CHORUS_CALLBACK_SIGNING_KEYS", "CHORUS_AUDIO_RETENTION",
    ])) == 0
    error_message = "worker_extra_env must not set a variable Terraform manages (use the dedicated variable instead)."
  }
}

variable "backstop_interval_minutes" {
  description = "Cloud Scheduler runs the worker job every this many minutes so redelivered requests are picked up after a drain ended (1-59; 0 turns the backstop off). Each run costs a GPU start plus the idle timeout."
  type        = number
  default     = 10

  validation {
    condition     = var.backstop_interval_minutes >= 0 && var.backstop_interval_minutes <= 59 && floor(var.backstop_interval_minutes) == var.backstop_interval_minutes
    error_message = "backstop_interval_minutes must be a whole number between 0 and 59."
  }
}

# --- Alerts --------------------------------------------------------------------

variable "alert_notification_channels" {
  description = "Cloud Monitoring notification channels the alert policies (alerts.tf) notify, as projects/PROJECT/notificationChannels/ID (create one with `gcloud beta monitoring channels create`). Empty: the policies still open incidents in the console but notify no one."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for c in var.alert_notification_channels : can(regex("^projects/[^/]+/notificationChannels/[0-9]+$", c))])
    error_message = "Each notification channel must be a full name like projects/PROJECT/notificationChannels/1234567890."
  }
}

variable "alert_request_age_seconds" {
  description = "Alert when the oldest unacknowledged synthesis request is older than this (seconds, for 2 minutes). It must cover a worker cold start: about a minute on an L4."
  type        = number
  default     = 300

  validation {
    condition     = var.alert_request_age_seconds >= 60
    error_message = "alert_request_age_seconds must be at least 60 (a worker start takes tens of seconds)."
  }
}

variable "alert_status_5xx_ratio" {
  description = "Alert when more than this share of the status function's answers are 5xx over 5 minutes (0-1)."
  type        = number
  default     = 0.05

  validation {
    condition     = var.alert_status_5xx_ratio > 0 && var.alert_status_5xx_ratio < 1
    error_message = "alert_status_5xx_ratio must be between 0 and 1, exclusive."
  }
}

# --- Web app -------------------------------------------------------------------

variable "web_max_instances" {
  description = "Most instances of the web app service."
  type        = number
  default     = 3
}

variable "callback_attempts" {
  description = "How many times a completion callback is tried (with backoff from 10 s to 10 min) before it is dead-lettered."
  type        = number
  default     = 12

  validation {
    condition     = var.callback_attempts >= 5 && var.callback_attempts <= 100
    error_message = "callback_attempts must be between 5 and 100 (Pub/Sub's bounds on delivery attempts)."
  }
}

variable "callback_signing_keys" {
  description = "Ids of the Ed25519 keys completion callbacks are signed with: one, or two during a rotation. Terraform generates a key per id; the worker signs with each and the profiles function publishes each. To rotate: add the new id, apply, give receivers time to fetch the keys, remove the old id, apply."
  type        = list(string)
  default     = ["k1"]

  validation {
    condition = (length(var.callback_signing_keys) >= 1 && length(var.callback_signing_keys) <= 2 &&
      length(distinct(var.callback_signing_keys)) == length(var.callback_signing_keys) &&
    alltrue([for k in var.callback_signing_keys : can(regex("^[A-Za-z0-9_-]{1,64}$", k))]))
    error_message = "callback_signing_keys: one or two distinct ids of 1 to 64 letters, digits, '-' or '_'."
  }
}

