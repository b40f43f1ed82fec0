# Alert policies: the four signs that fans are not getting audio, each
# with the playbook an operator reads when it fires. They notify
# var.alert_notification_channels (none by default: the incidents still
# open in the console, Monitoring → Alerting).

locals {
  alert_documentation_footer = "Deployment: project ${var.project_id}, region ${var.region}, prefix ${local.prefix}. More in docs/deploy.md (Operating it)."
}

# Requests nobody is pulling: no execution of the worker job is running
# (none started, GPU quota exhausted, executions failing at start), or the
# running ones cannot keep up.
resource "google_monitoring_alert_policy" "request_age" {
  display_name = "${local.prefix}: synthesis requests waiting too long"
  combiner     = "OR"
  severity     = "ERROR"

  conditions {
    display_name = "Oldest unacknowledged request older than ${var.alert_request_age_seconds} s"
    condition_threshold {
      filter          = "resource.type = \"pubsub_subscription\" AND resource.labels.subscription_id = \"${google_pubsub_subscription.worker.name}\" AND metric.type = \"pubsub.googleapis.com/subscription/oldest_unacked_message_age\""
      comparison      = "COMPARISON_GT"
      threshold_value = var.alert_request_age_seconds
      duration        = "120s"
      aggregations {
        alignment_period   = "60s"
        per_series_aligner = "ALIGN_MAX"
      }
    }
  }

  notification_channels = var.alert_notification_channels

  documentation {
    subject   = "${local.prefix}: synthesis requests are waiting"
    mime_type = "text/markdown"
    content   = <<-EOT
      The oldest request on `${google_pubsub_subscription.worker.name}` has waited more than ${var.alert_request_age_seconds} s: fans are not getting audio.

      1. Is an execution running? `gcloud run jobs executions list --job=${google_cloud_run_v2_job.worker.name} --region=${var.region} --limit=5`.
         None running: the enqueue functions could not start one (their logs: `gcloud logging read 'resource.labels.service_name=~"${local.prefix}-(synthesize|batch)" AND severity>=WARNING' --limit=20`), or the backstop is off (`backstop_interval_minutes`).
      2. Executions failing or never starting: see the alert "worker executions failing"; with `worker_accelerator = "l4"` check the L4 quota (`NvidiaL4GpuAllocNoZonalRedundancyPerProjectRegion` in ${var.region}, IAM & Admin → Quotas).
      3. Running but behind: the backlog exceeds one worker's throughput; raise the executions or tasks the worker may run (docs/deploy.md) or wait for it to drain.

      Start an execution by hand: `gcloud run jobs execute ${google_cloud_run_v2_job.worker.name} --region=${var.region}`.

      ${local.alert_documentation_footer}
    EOT
  }
}

# Letters on either dead-letter topic: syntheses that failed for good
# (after max_delivery_attempts, or at once when they can never succeed) and
# callbacks no receiver took. Both "kept" subscriptions hold every letter
# until someone reads it.
resource "google_monitoring_alert_policy" "dead_letters" {
  display_name = "${local.prefix}: messages on the dead-letter topics"
  combiner     = "OR"
  severity     = "WARNING"

  conditions {
    display_name = "Undelivered dead letters"
    condition_threshold {
      filter          = "resource.type = \"pubsub_subscription\" AND resource.labels.subscription_id = one_of(\"${google_pubsub_subscription.dead_letter["kept"].name}\", \"${google_pubsub_subscription.callbacks_dead_letter.name}\") AND metric.type = \"pubsub.googleapis.com/subscription/num_undelivered_messages\""
      comparison      = "COMPARISON_GT"
      threshold_value = 0
      duration        = "0s"
      aggregations {
        alignment_period   = "300s"
        per_series_aligner = "ALIGN_MAX"
      }
    }
  }

  notification_channels = var.alert_notification_channels

  documentation {
    subject   = "${local.prefix}: dead letters to read"
    mime_type = "text/markdown"
    content   = <<-EOT
      Messages arrived on a dead-letter topic: the subscription named in the incident holds them.

      - `${google_pubsub_subscription.dead_letter["kept"].name}`: synthesis requests that failed for good. Their jobs are already marked failed (the worker sweeps `${google_pubsub_subscription.dead_letter["sweep"].name}`); the fans saw an error. Read them: `gcloud pubsub subscriptions pull ${google_pubsub_subscription.dead_letter["kept"].name} --limit=10`. The attributes `CloudPubSubDeadLetterSourceDeliveryCount` and the job id tell which job; the worker's log says why (`gcloud logging read 'resource.labels.job_name="${google_cloud_run_v2_job.worker.name}" AND severity>=WARNING' --limit=20`). A voice that cannot be loaded or a text it cannot say is the usual cause.
      - `${google_pubsub_subscription.callbacks_dead_letter.name}`: completion callbacks no receiver accepted after `callback_attempts` tries. Check the receiver named in the message's `callback_url`.

      When understood, acknowledge them so the incident closes: `gcloud pubsub subscriptions pull SUBSCRIPTION --auto-ack --limit=100` (repeat until empty).

      ${local.alert_documentation_footer}
    EOT
  }
}

# Executions that end failed: the worker exited non-zero on every retry
# (CUDA not usable on the GPU, a configuration error, a crash).
resource "google_monitoring_alert_policy" "worker_failures" {
  display_name = "${local.prefix}: worker executions failing"
  combiner     = "OR"
  severity     = "ERROR"

  conditions {
    display_name = "Failed executions of ${google_cloud_run_v2_job.worker.name}"
    condition_threshold {
      filter          = "resource.type = \"cloud_run_job\" AND resource.labels.job_name = \"${google_cloud_run_v2_job.worker.name}\" AND metric.type = \"run.googleapis.com/job/completed_execution_count\" AND metric.labels.result = \"failed\""
      comparison      = "COMPARISON_GT"
      threshold_value = 0
      duration        = "0s"
      aggregations {
        alignment_period   = "300s"
        per_series_aligner = "ALIGN_SUM"
      }
    }
  }

  notification_channels = var.alert_notification_channels

  documentation {
    subject   = "${local.prefix}: worker executions failing"
    mime_type = "text/markdown"
    content   = <<-EOT
      An execution of the worker job `${google_cloud_run_v2_job.worker.name}` ended failed. Requests are not lost (unacknowledged messages come back), but none is synthesised while executions fail.

      1. Why: `gcloud logging read 'resource.labels.job_name="${google_cloud_run_v2_job.worker.name}" AND severity>=ERROR' --limit=20`. The worker names the setting or the dependency it stopped on.
      2. "CUDA" at start: the L4 is not usable by the image (driver or library mismatch; synth-job/Dockerfile). Switching to `worker_accelerator = "none"` keeps fans served on CPUs while it is fixed.
      3. A configuration error: a variable named in the log; fix it in Terraform and apply.
      4. Out of memory (exit 137): raise `worker_memory`.

      ${local.alert_documentation_footer}
    EOT
  }
}

# Status answers 5xx: fans polling for their audio get errors (Firestore
# or signing through IAM failing, or the function crashing).
resource "google_monitoring_alert_policy" "status_errors" {
  display_name = "${local.prefix}: status answering 5xx"
  combiner     = "OR"
  severity     = "ERROR"

  conditions {
    display_name = "Share of 5xx answers of ${module.status.function.name} above ${var.alert_status_5xx_ratio}"
    condition_threshold {
      filter             = "resource.type = \"cloud_run_revision\" AND resource.labels.service_name = \"${module.status.function.name}\" AND metric.type = \"run.googleapis.com/request_count\" AND metric.labels.response_code_class = \"5xx\""
      denominator_filter = "resource.type = \"cloud_run_revision\" AND resource.labels.service_name = \"${module.status.function.name}\" AND metric.type = \"run.googleapis.com/request_count\""
      comparison         = "COMPARISON_GT"
      threshold_value    = var.alert_status_5xx_ratio
      duration           = "300s"
      aggregations {
        alignment_period     = "60s"
        per_series_aligner   = "ALIGN_RATE"
        cross_series_reducer = "REDUCE_SUM"
      }
      denominator_aggregations {
        alignment_period     = "60s"
        per_series_aligner   = "ALIGN_RATE"
        cross_series_reducer = "REDUCE_SUM"
      }
    }
  }

  notification_channels = var.alert_notification_channels

  documentation {
    subject   = "${local.prefix}: status is failing"
    mime_type = "text/markdown"
    content   = <<-EOT
      More than ${var.alert_status_5xx_ratio * 100} % of the answers of the status function `${module.status.function.name}` were 5xx for 5 minutes: fans cannot fetch their audio.

      1. What failed: `gcloud logging read 'resource.labels.service_name="${module.status.function.name}" AND severity>=ERROR' --limit=20`. Status never answers 5xx for bad input; each error names the call that failed.
      2. Signing (signBlob 403 or timeouts): the status account (`${module.status.service_account.account_id}`) needs token creator on itself and `iamcredentials.googleapis.com` enabled (both set by Terraform and the bootstrap: re-apply them).
      3. Firestore errors or quota: the Firestore console's usage page; 429 from Firestore means the project's limits.
      4. Crashes or out of memory: raise the status function's memory in `function_settings`.

      ${local.alert_documentation_footer}
    EOT
  }
}
