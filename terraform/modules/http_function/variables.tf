variable "name" {
  description = "Short name of the function (profiles): the function is PREFIX-NAME and runs as the service account PREFIX-NAME."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]*[a-z0-9]$", var.name))
    error_message = "name must be lowercase letters, digits and hyphens, starting with a letter."
  }
}

variable "prefix" {
  description = "Prefix of the function's and its service account's names (the root's name_prefix)."
  type        = string

  validation {
    # Service account ids are 6-30 characters.
    condition     = length(var.prefix) >= 1 && length(var.prefix) + 1 <= 30
    error_message = "prefix must be between 1 and 29 characters."
  }
}

variable "region" {
  description = "Region of the function."
  type        = string
}

variable "description" {
  description = "What the function does, shown on the function."
  type        = string
}

variable "account_description" {
  description = "What the function's service account is allowed to do, shown on the account."
  type        = string
}

variable "entry_point" {
  description = "Go function registered under this name in the source archive (functions.HTTP)."
  type        = string
}

variable "build" {
  description = "How every function is built: Go runtime, the Cloud Build service account (its id), the Artifact Registry repository (its id) and the source archive in Cloud Storage."
  type = object({
    runtime           = string
    service_account   = string
    docker_repository = string
    source_bucket     = string
    source_object     = string
  })
}

variable "settings" {
  description = "Resources and scaling of the function."
  type = object({
    memory          = string
    cpu             = string
    timeout_seconds = number
    min_instances   = number
    max_instances   = number
    concurrency     = number
  })
}

variable "environment" {
  description = "Environment variables of the function (config.Functions)."
  type        = map(string)
}

variable "public" {
  description = "Whether anyone on the internet may invoke the function (allUsers run.invoker)."
  type        = bool
}

variable "sign_as_itself" {
  description = "Grant the function's account token creator on itself and set CHORUS_SIGNER_EMAIL to it, so the function signs (signBlob) as itself."
  type        = bool
  default     = false
}
