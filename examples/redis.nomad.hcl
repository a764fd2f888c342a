# The classic example of the Go nomad-driver-podman, unchanged: Redis on a dynamic host port.
#   nomad job run examples/redis.nomad.hcl
#   nomad-driver-podman plan examples/redis.nomad.hcl
job "redis" {
  datacenters = ["dc1"]
  type        = "service"

  group "cache" {
    network {
      port "db" {
        to = 6379
      }
    }

    task "redis" {
      driver = "podman"

      config {
        image = "docker://docker.io/library/redis:7"
        ports = ["db"]
      }

      resources {
        cpu    = 500
        memory = 256
      }
    }
  }
}
