# Three private buckets. None is ever public: the browser reads audio only
# through short-lived V4 signed URLs made by the status function, and the
# web app is served by Cloud Run (web.tf).

# Synthesised WAV files. They are disposable (a job can be re-run), so the
# lifecycle deletes them after var.audio_retention_days (the functions and
# the worker get the same span as CHORUS_AUDIO_RETENTION) and soft delete
# is off (it would bill every deleted WAV for 7 more days).
resource "google_storage_bucket" "audio" {
  name     = "${var.project_id}-${local.prefix}-audio"
  location = var.region

  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = !var.deletion_protection

  soft_delete_policy {
    retention_duration_seconds = 0
  }

  lifecycle_rule {
    condition {
      age = var.audio_retention_days
    }
    action {
      type = "Delete"
    }
  }

  # Signed URLs carry the authorisation; CORS only lets the web app fetch()
  # the audio (an <audio> element alone does not need it).
  cors {
    origin          = local.allowed_origins
    method          = ["GET", "HEAD"]
    response_header = ["Content-Type", "Content-Length", "Content-Range", "Accept-Ranges"]
    max_age_seconds = 3600
  }
}

# Voices (NAME.onnx + NAME.onnx.json), uploaded by operators. Versioned and
# never force-destroyed: a trained voice may exist nowhere else.
resource "google_storage_bucket" "models" {
  name     = "${var.project_id}-${local.prefix}-models"
  location = var.region

  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = false

  versioning {
    enabled = true
  }

  lifecycle_rule {
    condition {
      num_newer_versions = 3
      with_state         = "ARCHIVED"
    }
    action {
      type = "Delete"
    }
  }
}
