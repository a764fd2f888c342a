# Publishing ports: a static and a dynamic group port, mapped to the container's 8080 and 9090.
# Runs on local Podman too (busybox httpd from the test images):
#   nomad-driver-podman run examples/ports.nomad.hcl     (then: curl http://127.0.0.1:8080/)
job "ports" {
  datacenters = ["dc1"]

  group "web" {
    network {
      port "http" {
        static = 8080
        to     = 8080
      }
      port "metrics" {
        to = 9090
      }
    }

    task "httpd" {
      driver = "podman"

      config {
        image    = "localhost/httpd:latest"
        ports    = ["http", "metrics"]
        hostname = "web"
        labels = {
          tier = "frontend"
        }
      }

      env {
        LISTEN = "0.0.0.0:${NOMAD_PORT_http}"
      }

      resources {
        cpu    = 100
        memory = 64
      }
    }
  }
}
