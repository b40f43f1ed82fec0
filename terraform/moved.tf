# State changes for deployments made by older versions of this
# configuration.

# The APIs, the registry and the sources bucket now belong to bootstrap/,
# which must exist before the first build. A state that still holds them
# forgets them here (nothing is destroyed); `terraform apply -var
# adopt_existing=true` in bootstrap/ then takes them over (docs/deploy.md).
removed {
  from = google_project_service.apis
  lifecycle {
    destroy = false
  }
}
removed {
  from = google_artifact_registry_repository.chorus
  lifecycle {
    destroy = false
  }
}
removed {
  from = google_storage_bucket.sources
  lifecycle {
    destroy = false
  }
}

# The functions became modules (modules/http_function): Terraform moves
# these objects instead of destroying and re-creating the functions and
# their service accounts.

moved {
  from = google_service_account.profiles
  to   = module.profiles.google_service_account.this
}
moved {
  from = google_cloudfunctions2_function.profiles
  to   = module.profiles.google_cloudfunctions2_function.this
}
moved {
  from = google_cloud_run_v2_service_iam_member.public_invoker["profiles"]
  to   = module.profiles.google_cloud_run_v2_service_iam_member.public_invoker[0]
}

moved {
  from = google_service_account.synthesize
  to   = module.synthesize.google_service_account.this
}
moved {
  from = google_cloudfunctions2_function.synthesize
  to   = module.synthesize.google_cloudfunctions2_function.this
}
moved {
  from = google_cloud_run_v2_service_iam_member.public_invoker["synthesize"]
  to   = module.synthesize.google_cloud_run_v2_service_iam_member.public_invoker[0]
}

moved {
  from = google_service_account.batch
  to   = module.batch.google_service_account.this
}
moved {
  from = google_cloudfunctions2_function.batch
  to   = module.batch.google_cloudfunctions2_function.this
}
moved {
  from = google_cloud_run_v2_service_iam_member.public_invoker["batch"]
  to   = module.batch.google_cloud_run_v2_service_iam_member.public_invoker[0]
}

moved {
  from = google_service_account.status
  to   = module.status.google_service_account.this
}
moved {
  from = google_cloudfunctions2_function.status
  to   = module.status.google_cloudfunctions2_function.this
}
moved {
  from = google_cloud_run_v2_service_iam_member.public_invoker["status"]
  to   = module.status.google_cloud_run_v2_service_iam_member.public_invoker[0]
}
moved {
  from = google_service_account_iam_member.status_signs_as_itself
  to   = module.status.google_service_account_iam_member.signs_as_itself[0]
}
