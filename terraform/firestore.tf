# Firestore in native mode holds members, voices, jobs and requests
# (idempotency keys). Its location cannot change after creation.
resource "google_firestore_database" "default" {
  name        = "(default)"
  location_id = coalesce(var.firestore_location, var.region)
  type        = "FIRESTORE_NATIVE"

  delete_protection_state = var.deletion_protection ? "DELETE_PROTECTION_ENABLED" : "DELETE_PROTECTION_DISABLED"
  deletion_policy         = var.deletion_protection ? "ABANDON" : "DELETE"
}

# TTL policies: Firestore deletes a jobs/, requests/ or results/ (the result
# cache) document (within about a day) once its expire_at timestamp has
# passed. The writers set expire_at
# to when the job's audio expires: the functions and the worker read the
# span from CHORUS_AUDIO_RETENTION, which Terraform sets from
# var.audio_retention_days like the audio bucket's lifecycle
# (local.audio_retention), so a record and its audio go together. Documents
# without the field are kept. The field is exempt from indexing, as Google
# recommends for TTL timestamps (monotonic values hot-spot an index).
resource "google_firestore_field" "ttl" {
  for_each = toset(["jobs", "requests", "results", "batch_notices"])

  database   = google_firestore_database.default.name
  collection = each.value
  field      = "expire_at"

  ttl_config {}
  index_config {}
}

# The worker's requeue sweep (CHORUS_REQUEUE_AFTER) looks for jobs that
# stayed queued too long: status == "queued", oldest updated_at first.
# The batch status query (batch_id ==) needs only the automatic index.
resource "google_firestore_index" "jobs_queued_by_age" {
  database   = google_firestore_database.default.name
  collection = "jobs"

  fields {
    field_path = "status"
    order      = "ASCENDING"
  }
  fields {
    field_path = "updated_at"
    order      = "ASCENDING"
  }
}

# The same sweep also finds jobs still marked running whose lease lapsed
# (their worker died and their message did not come back).
resource "google_firestore_index" "jobs_running_by_lease" {
  database   = google_firestore_database.default.name
  collection = "jobs"

  fields {
    field_path = "status"
    order      = "ASCENDING"
  }
  fields {
    field_path = "lease_until"
    order      = "ASCENDING"
  }
}

# The worker's sweep for finished jobs whose completion was never announced
# (shared/store Unnotified): status in (succeeded, failed), notified ==
# false, oldest updated_at first.
resource "google_firestore_index" "jobs_unannounced" {
  database   = google_firestore_database.default.name
  collection = "jobs"

  fields {
    field_path = "status"
    order      = "ASCENDING"
  }
  fields {
    field_path = "notified"
    order      = "ASCENDING"
  }
  fields {
    field_path = "updated_at"
    order      = "ASCENDING"
  }
}

# A finished job asks whether its batch has finished with a count query:
# batch_id ==, status in (queued, running) (shared/store BatchPending).
resource "google_firestore_index" "jobs_batch_pending" {
  database   = google_firestore_database.default.name
  collection = "jobs"

  fields {
    field_path = "batch_id"
    order      = "ASCENDING"
  }
  fields {
    field_path = "status"
    order      = "ASCENDING"
  }
}
