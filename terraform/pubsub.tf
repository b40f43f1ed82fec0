# The synthesis queue: a topic whose messages Pub/Sub validates against the
# proto schema shared with the Go code, one pull subscription for the
# worker, and a dead-letter topic with two subscriptions of its own.

resource "google_pubsub_schema" "requests" {
  name       = "${local.prefix}-synthesis-request"
  type       = "PROTOCOL_BUFFER"
  definition = file("${path.module}/../shared/message/synthesis_request.proto")
}

resource "google_pubsub_topic" "requests" {
  name = "${local.prefix}-synthesis-requests"

  # Publishes that do not match the schema are rejected at publish time.
  schema_settings {
    schema   = google_pubsub_schema.requests.id
    encoding = "JSON"
  }

  message_storage_policy {
    allowed_persistence_regions = [var.region]
  }

  # No topic retention: the subscription below keeps unacknowledged
  # messages; replaying acknowledged ones is not a use case.
}

resource "google_pubsub_topic" "dead_letter" {
  name = "${local.prefix}-synthesis-dead-letter"

  message_storage_policy {
    allowed_persistence_regions = [var.region]
  }
}

# The worker's queue. Retention is set on purpose: a request nobody has
# pulled within var.request_retention_seconds is stale for a listener and
# would only lengthen the backlog after an outage. Redeliveries back off
# exponentially; after var.max_delivery_attempts the message moves to the
# dead-letter topic (the worker fails the job on its last attempt; its
# CHORUS_MAX_ATTEMPTS is set from the same variable).
resource "google_pubsub_subscription" "worker" {
  name  = "${local.prefix}-synthesis-worker"
  topic = google_pubsub_topic.requests.id

  ack_deadline_seconds       = var.ack_deadline_seconds
  message_retention_duration = "${var.request_retention_seconds}s"
  retain_acked_messages      = false

  retry_policy {
    minimum_backoff = "${var.retry_min_backoff_seconds}s"
    maximum_backoff = "${var.retry_max_backoff_seconds}s"
  }

  dead_letter_policy {
    dead_letter_topic     = google_pubsub_topic.dead_letter.id
    max_delivery_attempts = var.max_delivery_attempts
  }

  # Never expire: the default deletes a subscription after 31 idle days.
  expiration_policy {
    ttl = ""
  }
}

# Dead letters: the worker sweeps "sweep" to mark those jobs failed, and
# "kept" holds every dead letter for people to inspect (it is never read by
# code), no longer than the audio is kept. Subscriptions on the dead-letter topic have no dead-letter policy
# themselves: there is nowhere further to send a letter.
resource "google_pubsub_subscription" "dead_letter" {
  for_each = toset(["sweep", "kept"])

  name  = "${local.prefix}-synthesis-dead-letter-${each.value}"
  topic = google_pubsub_topic.dead_letter.id

  ack_deadline_seconds       = 60
  message_retention_duration = local.dead_letter_retention

  expiration_policy {
    ttl = ""
  }
}

locals {
  # A dead letter holds a fan's text: keep it no longer than the audio
  # (Pub/Sub keeps a subscription's messages at most 7 days).
  dead_letter_retention = "${min(var.audio_retention_days, 7) * 86400}s"
}

# Dead-lettering is done by the Pub/Sub service agent.
resource "google_pubsub_topic_iam_member" "dead_letter_agent_publisher" {
  topic  = google_pubsub_topic.dead_letter.id
  role   = "roles/pubsub.publisher"
  member = local.pubsub_agent
}

resource "google_pubsub_subscription_iam_member" "dead_letter_agent_subscriber" {
  subscription = google_pubsub_subscription.worker.id
  role         = "roles/pubsub.subscriber"
  member       = local.pubsub_agent
}
