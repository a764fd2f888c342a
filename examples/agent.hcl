# Nomad agent (client) configuration that loads this driver.
#
# Install: copy dist/nomad-driver-podman into plugin_dir (it must be executable; the file name
# must match the plugin block's label below), then start the agent:
#   sudo nomad agent -config examples/agent.hcl
# Check the driver: nomad node status -self -verbose | grep podman

data_dir   = "/opt/nomad/data"
plugin_dir = "/opt/nomad/plugins"

client {
  enabled = true
}

plugin "nomad-driver-podman" {
  config {
    # Podman's REST API. Rootful default; rootless: unix:///run/user/<uid>/podman/podman.sock
    socket_path = "unix:///run/podman/podman.sock"

    # Task `volumes = [...]` outside the alloc dir are allowed; relabel binds for SELinux hosts.
    volumes {
      enabled      = true
      selinuxlabel = "z"
    }

    # Remove containers when Nomad destroys the task (default true).
    gc {
      container = true
    }

    # Add com.hashicorp.nomad.<key> labels to every container (glob patterns).
    extra_labels = ["job_name", "task_group_name", "task_name", "namespace", "node_name"]

    # Timeout of non-streaming Podman API calls.
    client_http_timeout = "60s"

    # Default log driver for tasks that do not set `logging`: "nomad" (Nomad's log files) or "journald".
    logging {
      driver = "nomad"
    }
  }
}
