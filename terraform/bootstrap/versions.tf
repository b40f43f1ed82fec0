terraform {
  # 1.11 like the main configuration (for_each on import blocks needs 1.7).
  required_version = ">= 1.11"

  required_providers {
    google = {
      source  = "hashicorp/google"
      version = "~> 8.0"
    }
  }

  # The state bucket the main configuration uses, under its own prefix:
  #   terraform init -backend-config="bucket=PROJECT-tfstate" -backend-config="prefix=chorus-bootstrap"
  backend "gcs" {}
}
