variable "project_id" {
  description = "Google Cloud project to deploy into (an empty project with billing enabled)."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.project_id))
    error_message = "project_id must be a Google Cloud project id (6-30 lowercase letters, digits, hyphens)."
  }
}

variable "region" {
  description = "Region of the registry and the sources bucket: the main configuration's region."
  type        = string
  default     = "us-central1"
}

variable "name_prefix" {
  description = "The main configuration's name_prefix (and cloudbuild.yaml's _PREFIX): the registry and bucket names derive from it."
  type        = string
  default     = "chorus"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,11}$", var.name_prefix))
    error_message = "name_prefix must be 2-12 characters: a lowercase letter, then lowercase letters, digits or hyphens."
  }
}

variable "labels" {
  description = "Extra labels put on every resource that supports labels (app = chorus is always set)."
  type        = map(string)
  default     = {}
}

variable "deletion_protection" {
  description = "Refuse to destroy the sources bucket while it holds archives. Set false for throw-away environments."
  type        = bool
  default     = true
}

variable "images_to_keep" {
  description = "Artifact Registry cleanup keeps at least this many most recent versions of each image."
  type        = number
  default     = 10

  validation {
    condition     = var.images_to_keep >= 1
    error_message = "images_to_keep must be at least 1."
  }
}

variable "image_retention_days" {
  description = "Artifact Registry cleanup deletes image versions older than this, except the images_to_keep most recent."
  type        = number
  default     = 30

  validation {
    condition     = var.image_retention_days >= 1
    error_message = "image_retention_days must be at least 1."
  }
}

variable "source_retention_days" {
  description = "Function source archives are deleted this many days after upload (only builds read them)."
  type        = number
  default     = 90

  validation {
    condition     = var.source_retention_days >= 1
    error_message = "source_retention_days must be at least 1."
  }
}

variable "adopt_existing" {
  description = "Import the APIs, registry, sources bucket and deployer account that a deployment made before this configuration already has (its main configuration and a gcloud command created them). Set true for that one apply; a new project leaves it false."
  type        = bool
  default     = false
}
