# Runs here, on local Podman, without Nomad:
#   nomad-driver-podman run examples/hello.nomad.hcl [--socket-path unix:///run/podman/podman.sock]
# prints "hello from nomad-driver-podman" (stdout) and "task hello says bye" (stderr), exits 0.
job "hello" {
  datacenters = ["dc1"]
  type        = "batch"

  group "hello" {
    task "hello" {
      driver = "podman"

      config {
        image   = "localhost/busybox:latest"
        command = "/bin/sh"
        args    = ["-c", "echo hello from nomad-driver-podman; echo task ${NOMAD_TASK_NAME} says bye >&2; exit 0"]
      }

      env {
        GREETING = "hello"
      }

      resources {
        cpu    = 100
        memory = 32
      }
    }
  }
}
