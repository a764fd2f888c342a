# An HCL2 job with variables, locals and functions, evaluated as `nomad job run` does:
#   nomad-driver-podman plan examples/variables.nomad.hcl -var tag=1.37 -var 'args=["-c", "date"]'
#   NOMAD_VAR_tag=1.36 nomad-driver-podman validate examples/variables.nomad.hcl
# `${NOMAD_TASK_NAME}` is not a variable of the job: Nomad's client fills it in, as the CLI does.
variable "tag" {
  type        = string
  default     = "1.36"
  description = "busybox image tag"
}

variable "args" {
  type    = list(string)
  default = ["-c", "echo hello from $HOSTNAME"]
}

locals {
  image  = "docker://docker.io/library/busybox:${var.tag}"
  labels = { app = "demo", tag = replace(var.tag, ".", "-") }
}

job "variables" {
  datacenters = ["dc1"]
  type        = "batch"

  group "demo" {
    task "demo" {
      driver       = "podman"
      kill_signal  = "SIGINT"
      kill_timeout = "10s"

      config {
        image    = local.image
        command  = "/bin/sh"
        args     = var.args
        labels   = local.labels
        hostname = "${NOMAD_TASK_NAME}-${lower(var.tag)}"
      }

      resources {
        cpu    = 100
        memory = 32
      }
    }
  }
}
