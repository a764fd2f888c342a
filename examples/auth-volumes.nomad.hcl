# Pulling from a private registry with static credentials, and bind-mounting host directories.
# `volumes` outside the alloc dir need the plugin's `volumes { enabled = true }` (the default).
job "private-app" {
  datacenters = ["dc1"]

  group "app" {
    task "app" {
      driver = "podman"

      config {
        image      = "registry.example.com:5000/team/app:1.4.2"
        force_pull = true

        auth {
          username   = "deploy"
          password   = "s3cr3t"
          tls_verify = true
        }

        volumes = [
          "/srv/app/config:/etc/app:ro",
          "/srv/app/data:/var/lib/app:rw,z",
          "local/cache:/cache",
        ]

        image_pull_timeout = "10m"
      }

      resources {
        cpu    = 300
        memory = 128
      }
    }
  }
}
