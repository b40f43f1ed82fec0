terraform {
  # 1.11: cross-variable validation, mock providers in `terraform test`.
  required_version = ">= 1.11"

  required_providers {
    google = {
      source  = "hashicorp/google"
      version = "~> 8.0"
    }
  }

  # State lives in a GCS bucket created once by hand (see docs/deploy.md):
  #   terraform init -backend-config="bucket=PROJECT-tfstate" -backend-config="prefix=chorus"
  backend "gcs" {}
}
