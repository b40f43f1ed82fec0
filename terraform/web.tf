# The web app: the static Vite bundle served by nginx on Cloud Run
# (web/Dockerfile). The container writes config.json from these variables
# at start, so one image serves any deployment.

resource "google_cloud_run_v2_service" "web" {
  name                = "${local.prefix}-web"
  location            = var.region
  ingress             = "INGRESS_TRAFFIC_ALL"
  deletion_protection = var.deletion_protection

  template {
    service_account                  = google_service_account.web.email
    max_instance_request_concurrency = 200

    scaling {
      min_instance_count = 0
      max_instance_count = var.web_max_instances
    }

    containers {
      image = var.web_image

      ports {
        container_port = 8080
      }

      resources {
        limits = {
          cpu    = "1"
          memory = "256Mi"
        }
        cpu_idle = true
      }

      env {
        name  = "CHORUS_PROFILES_URL"
        value = module.profiles.url
      }
      env {
        name  = "CHORUS_SYNTHESIZE_URL"
        value = module.synthesize.url
      }
      env {
        name  = "CHORUS_BATCH_URL"
        value = module.batch.url
      }
      env {
        name  = "CHORUS_STATUS_URL"
        value = module.status.url
      }
      env {
        name  = "CHORUS_MAX_TEXT_CHARS"
        value = tostring(var.max_text_chars)
      }
      # The limits the app explains to fans are the functions' own.
      env {
        name  = "CHORUS_AUDIO_RETENTION_SECONDS"
        value = tostring(var.audio_retention_days * 86400)
      }
      env {
        name  = "CHORUS_RATE_PER_MINUTE"
        value = tostring(var.rate_per_minute)
      }
      env {
        name  = "CHORUS_RATE_BURST"
        value = tostring(var.rate_burst)
      }
      env {
        name  = "CHORUS_JOB_DEADLINE_SECONDS"
        value = tostring(var.web_job_deadline_seconds)
      }
      env {
        name  = "CHORUS_STATUS_WAIT_SECONDS"
        value = tostring(var.web_status_wait_seconds)
      }
      # Where signed audio URLs point: the CSP lets the app fetch and play from it.
      env {
        name  = "CHORUS_STORAGE_ORIGIN"
        value = "https://storage.googleapis.com"
      }
    }
  }
}

# The web app is public: anyone may load the page.
resource "google_cloud_run_v2_service_iam_member" "web_public" {
  location = google_cloud_run_v2_service.web.location
  name     = google_cloud_run_v2_service.web.name
  role     = "roles/run.invoker"
  member   = "allUsers"
}
