# Completion notifications. synthesis-completed gets one message per
# finished job and one per finished batch (validated against the proto
# schema shared with the Go code). The worker announces what it finishes
# and the enqueue functions what the result cache answers at once; the
# worker also delivers clients' callbacks from its own subscription, signed
# (Ed25519) with keys Terraform generates and keeps in Secret Manager; the
# profiles function publishes their public keys. Operators may add
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

  # No longer than the audio the completions name (local.dead_letter_retention).
  ack_deadline_seconds       = 60
  message_retention_duration = local.dead_letter_retention

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

# Callback signing keys: one Ed25519 key per id in var.callback_signing_keys
# (two during a rotation; the worker signs with each). The private keys
# live in this configuration's state (keep the state bucket private) and in
# the secret below, which the worker job reads at the version written here:
# the job is created after the secret has that version, and a rotation
# rolls the job and the published keys together.
resource "tls_private_key" "callback" {
  for_each = toset(var.callback_signing_keys)

  algorithm = "ED25519"
}

resource "google_secret_manager_secret" "callback" {
  secret_id = "${local.prefix}-callback-signing-keys"

  replication {
    auto {}
  }
}

# shared/callback.ParseSigningKeys reads this.
resource "google_secret_manager_secret_version" "callback" {
  secret = google_secret_manager_secret.callback.id
  secret_data = jsonencode({ keys = [for kid in var.callback_signing_keys : {
    kid             = kid
    private_key_pem = tls_private_key.callback[kid].private_key_pem
  }] })
}

locals {
  # The public keys as a JSON Web Key Set (RFC 8037), what receivers verify
  # with. x is the raw 32-byte key, unpadded base64url: the DER of an
  # Ed25519 SubjectPublicKeyInfo is a 12-byte header and the key, so in the
  # PEM's one line of base64 the key is characters 16 to 58.
  callback_public_keys = {
    keys = [for kid in var.callback_signing_keys : {
      kty = "OKP"
      crv = "Ed25519"
      alg = "EdDSA"
      use = "sig"
      kid = kid
      x = replace(replace(substr(replace(replace(replace(tls_private_key.callback[kid].public_key_pem,
      "-----BEGIN PUBLIC KEY-----", ""), "-----END PUBLIC KEY-----", ""), "\n", ""), 16, 43), "+", "-"), "/", "_")
    }]
  }
}

resource "google_secret_manager_secret_iam_member" "worker_callback" {
  secret_id = google_secret_manager_secret.callback.id
  role      = "roles/secretmanager.secretAccessor"
  member    = google_service_account.worker.member
}
