# One HTTP Cloud Function (gen2) with everything that belongs to it alone:
# its own service account, the function, the token-creator grant when it
# signs as itself, and its public invoker binding. Roles on shared
# resources (Firestore, topics, buckets, the worker job) are granted by the
# caller to the member this module outputs, on the narrowest resource.

resource "google_service_account" "this" {
  account_id   = "${var.prefix}-${var.name}"
  display_name = "Chorus ${var.name} function"
  description  = var.account_description
}

# Functions have no private key: a function that signs (V4 signed URLs)
# calls the IAM Credentials signBlob API as itself, which needs token
# creator on its own account. The code learns the account through
# CHORUS_SIGNER_EMAIL.
resource "google_service_account_iam_member" "signs_as_itself" {
  count = var.sign_as_itself ? 1 : 0

  service_account_id = google_service_account.this.name
  role               = "roles/iam.serviceAccountTokenCreator"
  member             = google_service_account.this.member
}

resource "google_cloudfunctions2_function" "this" {
  name        = "${var.prefix}-${var.name}"
  location    = var.region
  description = var.description

  build_config {
    runtime           = var.build.runtime
    entry_point       = var.entry_point
    service_account   = var.build.service_account
    docker_repository = var.build.docker_repository
    source {
      storage_source {
        bucket = var.build.source_bucket
        object = var.build.source_object
      }
    }
  }

  service_config {
    available_memory                 = var.settings.memory
    available_cpu                    = var.settings.cpu
    timeout_seconds                  = var.settings.timeout_seconds
    min_instance_count               = var.settings.min_instances
    max_instance_count               = var.settings.max_instances
    max_instance_request_concurrency = var.settings.concurrency
    ingress_settings                 = "ALLOW_ALL"
    all_traffic_on_latest_revision   = true
    service_account_email            = google_service_account.this.email
    environment_variables = merge(var.environment, var.sign_as_itself ? {
      CHORUS_SIGNER_EMAIL = google_service_account.this.email
    } : {})
  }

  depends_on = [google_service_account_iam_member.signs_as_itself]
}

# Public invoke, for a function the browser calls. A gen2 function is a
# Cloud Run service; invoking it needs run.invoker on the service.
resource "google_cloud_run_v2_service_iam_member" "public_invoker" {
  count = var.public ? 1 : 0

  location = var.region
  name     = google_cloudfunctions2_function.this.service_config[0].service
  role     = "roles/run.invoker"
  member   = "allUsers"
}
