# A batch job: runs once to completion. Shows command/args, working_dir, tmpfs, a read-only
# root file system, dropped capabilities and limits.
job "report" {
  datacenters = ["dc1"]
  type        = "batch"

  group "report" {
    restart {
      attempts = 0
      mode     = "fail"
    }

    task "generate" {
      driver = "podman"

      config {
        image           = "docker://docker.io/library/busybox:1.36"
        command         = "/bin/sh"
        args            = ["-c", "date > /scratch/report.txt && wc -c /scratch/report.txt"]
        working_dir     = "/scratch"
        tmpfs           = ["/scratch:rw,size=16m"]
        readonly_rootfs = true
        cap_drop        = ["ALL"]
        pids_limit      = 64
        ulimit {
          nofile = "1024:2048"
        }
        logging {
          driver = "nomad"
        }
      }

      resources {
        cpu    = 200
        memory = 64
      }
    }
  }
}
