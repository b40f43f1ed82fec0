# Offline assertions against a mock google provider (`terraform test`).

mock_provider "google" {}

override_resource {
  target = google_service_account.deployer
  values = {
    email  = "chorus-deployer@chorus-test-1.iam.gserviceaccount.com"
    member = "serviceAccount:chorus-deployer@chorus-test-1.iam.gserviceaccount.com"
    id     = "projects/chorus-test-1/serviceAccounts/chorus-deployer@chorus-test-1.iam.gserviceaccount.com"
  }
}

variables {
  project_id = "chorus-test-1"
}

run "makes_what_the_first_build_pushes_to" {
  command = apply

  assert {
    condition     = google_artifact_registry_repository.chorus.repository_id == "chorus" && google_artifact_registry_repository.chorus.format == "DOCKER" && google_artifact_registry_repository.chorus.location == "us-central1"
    error_message = "cloudbuild.yaml pushes to REGION-docker.pkg.dev/PROJECT/_PREFIX: the repository must be named after the prefix"
  }
  assert {
    condition     = output.artifact_repository == "us-central1-docker.pkg.dev/chorus-test-1/chorus"
    error_message = "artifact_repository must be the path images are pushed to"
  }
  assert {
    condition     = google_storage_bucket.sources.name == "chorus-test-1-chorus-sources" && output.sources_bucket == google_storage_bucket.sources.name
    error_message = "cloudbuild.yaml uploads to PROJECT-_PREFIX-sources, the name the main configuration reads"
  }
  assert {
    condition     = google_storage_bucket.sources.public_access_prevention == "enforced" && google_storage_bucket.sources.uniform_bucket_level_access && !google_storage_bucket.sources.force_destroy
    error_message = "the sources bucket must be private and kept unless deletion_protection is off"
  }
  assert {
    condition     = contains(keys(google_project_service.apis), "iamcredentials.googleapis.com") && contains(keys(google_project_service.apis), "cloudbuild.googleapis.com") && google_project_service.resourcemanager.service == "cloudresourcemanager.googleapis.com" && !contains(keys(google_project_service.apis), "cloudresourcemanager.googleapis.com")
    error_message = "the APIs must include IAM Credentials (signBlob) and Cloud Build, with Resource Manager enabled first, on its own"
  }
  assert {
    condition     = alltrue([for s in google_project_service.apis : !s.disable_on_destroy]) && !google_project_service.resourcemanager.disable_on_destroy
    error_message = "destroying Chorus must not turn off APIs other users of the project rely on"
  }
}

run "deployer_has_admin_roles_but_no_primitive_one" {
  command = apply

  assert {
    condition     = google_service_account.deployer.account_id == "chorus-deployer" && output.deployer_service_account == google_service_account.deployer.id
    error_message = "the deployer is PREFIX-deployer, and its full name is what gcloud builds submit --service-account takes"
  }
  assert {
    condition     = alltrue([for g in google_project_iam_member.deployer : g.member == google_service_account.deployer.member && !contains(["roles/owner", "roles/editor", "roles/viewer"], g.role)])
    error_message = "the deployer must hold no primitive role"
  }
  assert {
    condition = alltrue([for r in ["roles/resourcemanager.projectIamAdmin", "roles/iam.serviceAccountAdmin", "roles/iam.serviceAccountUser", "roles/run.admin", "roles/cloudfunctions.admin", "roles/storage.admin", "roles/pubsub.admin", "roles/datastore.owner", "roles/secretmanager.admin"] :
    contains(keys(google_project_iam_member.deployer), r)])
    error_message = "the deployer must be able to apply the main configuration"
  }
}

run "adopts_what_an_older_main_configuration_made" {
  command = plan

  variables {
    adopt_existing = true
  }

  assert {
    condition     = length(google_project_service.apis) == 13 && google_storage_bucket.sources.name == "chorus-test-1-chorus-sources"
    error_message = "adopting must plan the same APIs and bucket"
  }
}

run "rejects_a_long_prefix" {
  command = plan

  variables {
    name_prefix = "a-prefix-far-too-long"
  }

  expect_failures = [var.name_prefix]
}
