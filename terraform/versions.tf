terraform {
  # 1.11: cross-variable validation, mock providers in `terraform test`.
  required_version = ">= 1.11"

  required_providers {
    google = {
      source  = "hashicorp/google"
      version = "~> 8.0"
    }
    # The callback signing keys (tls_private_key ED25519).
    tls = {
      source  = "hashicorp/tls"
      version = "~> 4.2"
    }
  }

  # State lives in a GCS bucket created once by hand (see docs/deploy.md):
  #   terraform init -backend-config="bucket=PROJECT-tfstate" -backend-config="prefix=chorus"
  backend "gcs" {}
}
