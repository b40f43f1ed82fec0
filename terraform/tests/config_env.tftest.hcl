# Terraform sets every environment variable the Go configuration requires,
# and every variable a workload reads is either set here or knowingly left
# at its Go default (listed below, with the reason). tests/config_env.json
# lists what the code reads: terraform/configenv's Go test writes it from
# shared/config's env tags (and the web start script) and fails when it is
# stale, so a variable added to shared/config fails this file until
# Terraform sets it or it is listed below.

mock_provider "google" {
  mock_data "google_project" {
    defaults = {
      number = "123456789012"
    }
  }
  mock_data "google_artifact_registry_repository" {
    defaults = {
      id   = "projects/chorus-test-1/locations/us-central1/repositories/chorus"
      name = "chorus"
    }
  }
}

variables {
  project_id             = "chorus-test-1"
  worker_image           = "us-central1-docker.pkg.dev/chorus-test-1/chorus/synth-job@sha256:0000000000000000000000000000000000000000000000000000000000000000"
  web_image              = "us-central1-docker.pkg.dev/chorus-test-1/chorus/web@sha256:0000000000000000000000000000000000000000000000000000000000000000"
  function_source_object = "functions-0000.zip"

  # Read by the code, left at the Go default by Terraform.
  functions_defaults = [
    # Local stack only: a PEM key file, the GCS fake's host, loopback callbacks.
    "CHORUS_SIGNING_KEY_FILE", "CHORUS_PUBLIC_STORAGE_URL", "CHORUS_CALLBACK_ALLOW_LOOPBACK",
  ]
  # What profiles and status do not use: enqueueing and starting the worker.
  reader_defaults = [
    "CHORUS_STATUS_URL", "CHORUS_WORKER_JOB", "CHORUS_RATE_PER_MINUTE",
    "CHORUS_RATE_BURST", "CHORUS_COMPLETION_TOPIC",
  ]
  # Only status signs URLs and limits polls (its module and call set these
  # for it alone).
  signer_settings = ["CHORUS_SIGNED_URL_TTL", "CHORUS_SIGNER_EMAIL", "CHORUS_STATUS_RATE_PER_MINUTE", "CHORUS_STATUS_RATE_BURST"]
  # Only profiles serves the callback public keys (callback-keys.json).
  keys_settings = ["CHORUS_CALLBACK_PUBLIC_KEYS"]
  worker_defaults = [
    # Local disk (in memory on Cloud Run) and the timings of the lease,
    # the requeue sweep and SIGTERM, whose Go defaults fit a job.
    "CHORUS_VOICE_CACHE_DIR", "CHORUS_LEASE", "CHORUS_REQUEUE_AFTER", "CHORUS_SHUTDOWN_GRACE",
    # The engine's own bound on sentences per run.
    "CHORUS_RUN_MAX_ITEMS",
    # Local stack and tests only.
    "CHORUS_CALLBACK_ALLOW_LOOPBACK",
  ]
  # With an L4: worker batches in hand stay at the Go default (2) unless
  # worker_extra_env sets them. Without: the engine's CPU run sizes and
  # batching defaults, and no GPU settings.
  worker_l4_defaults   = ["CHORUS_CONCURRENCY"]
  worker_none_defaults = ["CHORUS_GPU_MEM_LIMIT", "CHORUS_RUN_MAX_IDS", "CHORUS_BATCH_SIZE", "CHORUS_BATCH_WAIT", "CHORUS_CPU_OFFLOAD_IDS"]
}

run "functions_set_what_the_go_config_reads" {
  command = plan

  assert {
    condition = alltrue([for f in [module.profiles, module.synthesize, module.batch, module.status] :
    length(setsubtract(jsondecode(file("${path.module}/tests/config_env.json")).functions.required, keys(f.function.service_config[0].environment_variables))) == 0])
    error_message = "a function lacks a variable config.Functions requires: ${join(", ", distinct(flatten([for f in [module.profiles, module.synthesize, module.batch, module.status] : tolist(setsubtract(jsondecode(file("${path.module}/tests/config_env.json")).functions.required, keys(f.function.service_config[0].environment_variables)))])))}"
  }
  assert {
    condition = alltrue([for f in [module.synthesize, module.batch] :
    length(setsubtract(jsondecode(file("${path.module}/tests/config_env.json")).functions.read, concat(keys(f.function.service_config[0].environment_variables), var.functions_defaults, var.signer_settings, var.keys_settings))) == 0])
    error_message = "synthesize or batch neither sets nor knowingly leaves at its default: ${join(", ", distinct(flatten([for f in [module.synthesize, module.batch] : tolist(setsubtract(jsondecode(file("${path.module}/tests/config_env.json")).functions.read, concat(keys(f.function.service_config[0].environment_variables), var.functions_defaults, var.signer_settings, var.keys_settings)))])))}"
  }
  assert {
    condition     = length(setsubtract(jsondecode(file("${path.module}/tests/config_env.json")).functions.read, concat(keys(module.status.function.service_config[0].environment_variables), var.functions_defaults, var.reader_defaults, var.keys_settings))) == 0
    error_message = "status neither sets nor knowingly leaves at its default: ${join(", ", setsubtract(jsondecode(file("${path.module}/tests/config_env.json")).functions.read, concat(keys(module.status.function.service_config[0].environment_variables), var.functions_defaults, var.reader_defaults, var.keys_settings)))}"
  }
  assert {
    condition     = length(setsubtract(jsondecode(file("${path.module}/tests/config_env.json")).functions.read, concat(keys(module.profiles.function.service_config[0].environment_variables), var.functions_defaults, var.reader_defaults, var.signer_settings))) == 0
    error_message = "profiles neither sets nor knowingly leaves at its default: ${join(", ", setsubtract(jsondecode(file("${path.module}/tests/config_env.json")).functions.read, concat(keys(module.profiles.function.service_config[0].environment_variables), var.functions_defaults, var.reader_defaults, var.signer_settings)))}"
  }
  # And nothing the code does not read (a misspelt or retired variable).
  assert {
    condition = alltrue([for f in [module.profiles, module.synthesize, module.batch, module.status] :
    length(setsubtract(keys(f.function.service_config[0].environment_variables), jsondecode(file("${path.module}/tests/config_env.json")).functions.read)) == 0])
    error_message = "a function sets a variable config.Functions does not read: ${join(", ", distinct(flatten([for f in [module.profiles, module.synthesize, module.batch, module.status] : tolist(setsubtract(keys(f.function.service_config[0].environment_variables), jsondecode(file("${path.module}/tests/config_env.json")).functions.read))])))}"
  }
}

run "the_l4_worker_sets_what_the_go_config_reads" {
  command = plan

  assert {
    condition     = length(setsubtract(jsondecode(file("${path.module}/tests/config_env.json")).worker.required, [for e in google_cloud_run_v2_job.worker.template[0].template[0].containers[0].env : e.name])) == 0
    error_message = "the worker job lacks a variable config.Worker requires: ${join(", ", setsubtract(jsondecode(file("${path.module}/tests/config_env.json")).worker.required, [for e in google_cloud_run_v2_job.worker.template[0].template[0].containers[0].env : e.name]))}"
  }
  assert {
    condition     = length(setsubtract(jsondecode(file("${path.module}/tests/config_env.json")).worker.read, concat([for e in google_cloud_run_v2_job.worker.template[0].template[0].containers[0].env : e.name], var.worker_defaults, var.worker_l4_defaults))) == 0
    error_message = "the worker job neither sets nor knowingly leaves at its default: ${join(", ", setsubtract(jsondecode(file("${path.module}/tests/config_env.json")).worker.read, concat([for e in google_cloud_run_v2_job.worker.template[0].template[0].containers[0].env : e.name], var.worker_defaults, var.worker_l4_defaults)))}"
  }
  assert {
    condition     = length(setsubtract([for e in google_cloud_run_v2_job.worker.template[0].template[0].containers[0].env : e.name], jsondecode(file("${path.module}/tests/config_env.json")).worker.read)) == 0
    error_message = "the worker job sets a variable config.Worker does not read: ${join(", ", setsubtract([for e in google_cloud_run_v2_job.worker.template[0].template[0].containers[0].env : e.name], jsondecode(file("${path.module}/tests/config_env.json")).worker.read))}"
  }
}

run "the_cpu_worker_sets_what_the_go_config_reads" {
  command = plan

  variables {
    worker_accelerator = "none"
  }

  assert {
    condition     = length(setsubtract(jsondecode(file("${path.module}/tests/config_env.json")).worker.required, [for e in google_cloud_run_v2_job.worker.template[0].template[0].containers[0].env : e.name])) == 0
    error_message = "the CPU worker job lacks a variable config.Worker requires: ${join(", ", setsubtract(jsondecode(file("${path.module}/tests/config_env.json")).worker.required, [for e in google_cloud_run_v2_job.worker.template[0].template[0].containers[0].env : e.name]))}"
  }
  assert {
    condition     = length(setsubtract(jsondecode(file("${path.module}/tests/config_env.json")).worker.read, concat([for e in google_cloud_run_v2_job.worker.template[0].template[0].containers[0].env : e.name], var.worker_defaults, var.worker_none_defaults))) == 0
    error_message = "the CPU worker job neither sets nor knowingly leaves at its default: ${join(", ", setsubtract(jsondecode(file("${path.module}/tests/config_env.json")).worker.read, concat([for e in google_cloud_run_v2_job.worker.template[0].template[0].containers[0].env : e.name], var.worker_defaults, var.worker_none_defaults)))}"
  }
  assert {
    condition     = length(setsubtract([for e in google_cloud_run_v2_job.worker.template[0].template[0].containers[0].env : e.name], jsondecode(file("${path.module}/tests/config_env.json")).worker.read)) == 0
    error_message = "the CPU worker job sets a variable config.Worker does not read: ${join(", ", setsubtract([for e in google_cloud_run_v2_job.worker.template[0].template[0].containers[0].env : e.name], jsondecode(file("${path.module}/tests/config_env.json")).worker.read))}"
  }
}

# The web container's start script (web/deploy/40-chorus-config.sh) gets
# exactly the variables it reads; terraform/checks runs the script with
# that environment.
run "web_sets_what_its_start_script_reads" {
  command = plan

  assert {
    condition     = toset([for e in google_cloud_run_v2_service.web.template[0].containers[0].env : e.name]) == toset(jsondecode(file("${path.module}/tests/config_env.json")).web.read)
    error_message = "the web container's variables must be exactly what its start script reads: it gets ${join(", ", [for e in google_cloud_run_v2_service.web.template[0].containers[0].env : e.name])}"
  }
}
