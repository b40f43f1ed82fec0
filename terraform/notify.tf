# Completion notifications. synthesis-completed gets one message per
# finished job and one per finished batch (validated against the proto
# schema shared with the Go code). The worker announces what it finishes
# and the enqueue functions what the result cache answers at once; the
# worker also delivers clients' callbacks from its own subscription, signed
# (HMAC-SHA256) with a secret kept in Secret Manager. Operators may add
# subscriptions of their own to the topic.

resource "google_pubsub_schema" "completed" {
  name       = "${local.prefix}-synthesis-completed"
  type       = "PROTOCOL_BUFFER"
  definition = file("${path.module}/../shared/message/synthesis_completed.proto")
}

resource "google_pubsub_topic" "completed" {
  name = "${local.prefix}-synthesis-completed"

  schema_settings {
    schema   = google_pubsub_schema.completed.id
    encoding = "JSON"
  }

  message_storage_policy {
    allowed_persistence_regions = [var.region]
  }
}

# Callbacks the receiver did not take (down, 5xx, 408, 429) are retried with
# Pub/Sub's backoff (10 s doubling to 10 min), var.callback_attempts times,
# then kept on a dead-letter topic of their own for people to look at; a
# final refusal (other 4xx) is dropped.
resource "google_pubsub_subscription" "callbacks" {
  name  = "${local.prefix}-synthesis-callbacks"
  topic = google_pubsub_topic.completed.id

  ack_deadline_seconds       = 60
  message_retention_duration = "86400s"

  retry_policy {
    minimum_backoff = "10s"
    maximum_backoff = "600s"
  }

  dead_letter_policy {
    dead_letter_topic     = google_pubsub_topic.callbacks_dead_letter.id
    max_delivery_attempts = var.callback_attempts
  }

  expiration_policy {
    ttl = ""
  }
}

resource "google_pubsub_topic" "callbacks_dead_letter" {
  name = "${local.prefix}-synthesis-callbacks-dead-letter"

  message_storage_policy {
    allowed_persistence_regions = [var.region]
  }
}

resource "google_pubsub_subscription" "callbacks_dead_letter" {
  name  = "${local.prefix}-synthesis-callbacks-dead-letter-kept"
  topic = google_pubsub_topic.callbacks_dead_letter.id

  ack_deadline_seconds       = 60
  message_retention_duration = "604800s"

  expiration_policy {
    ttl = ""
  }
}

# Dead-lettering is done by the Pub/Sub service agent.
resource "google_pubsub_topic_iam_member" "callbacks_dead_letter_agent" {
  topic  = google_pubsub_topic.callbacks_dead_letter.id
  role   = "roles/pubsub.publisher"
  member = local.pubsub_agent
}

resource "google_pubsub_subscription_iam_member" "callbacks_agent_subscriber" {
  subscription = google_pubsub_subscription.callbacks.id
  role         = "roles/pubsub.subscriber"
  member       = local.pubsub_agent
}

resource "google_pubsub_topic_iam_member" "completion_publisher" {
  for_each = {
    synthesize = module.synthesize.service_account_member
    batch      = module.batch.service_account_member
    worker     = google_service_account.worker.member
  }
  topic  = google_pubsub_topic.completed.id
  role   = "roles/pubsub.publisher"
  member = each.value
}

resource "google_pubsub_subscription_iam_member" "worker_callbacks" {
  subscription = google_pubsub_subscription.callbacks.id
  role         = "roles/pubsub.subscriber"
  member       = google_service_account.worker.member
}

# The signing secret's value is added once by the operator (docs/deploy.md:
# `gcloud secrets versions add`), so that it never sits in Terraform state.
resource "google_secret_manager_secret" "callback" {
  secret_id = "${local.prefix}-callback-secret"

  replication {
    auto {}
  }
}

resource "google_secret_manager_secret_iam_member" "worker_callback" {
  secret_id = google_secret_manager_secret.callback.id
  role      = "roles/secretmanager.secretAccessor"
  member    = google_service_account.worker.member
}
