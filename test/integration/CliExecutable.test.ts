/**
 * The CLI a person runs: the built executable (dist/nomad-driver-podman, `npm run build` first)
 * as a subprocess, on the job files of issue 12 (test/fixtures/cli): HCL2 variables, locals and
 * functions, a `docker://` image, a group network in bridge mode with DNS, the Go driver's
 * task-level `port_map` example and its rootless example with sockets in an agent config.
 * Signals and exit codes are the interface; no terminal is needed.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { libpod, removeContainer } from "../support/libpod.ts"
import { spawn } from "node:child_process"
import { NODE22, type ProcessResult, REPO_ROOT, runProcess, type RunOptions } from "../support/processes.ts"

const exe = path.join(REPO_ROOT, "dist/nomad-driver-podman")
const fixtures = path.join(REPO_ROOT, "test/fixtures/cli")
const socket = process.env["PODMAN_SOCKET"]!
const dir = mkdtempSync(path.join(os.tmpdir(), "ndp-cliexe-"))
const suffix = Math.random().toString(36).slice(2, 8)

/** Runs the executable from the fixtures directory, with a clean environment. */
const cli = (args: ReadonlyArray<string>, options: { env?: Record<string, string>; onOutput?: RunOptions["onOutput"] } = {}): Promise<ProcessResult> => {
  if (!existsSync(exe)) throw new Error(`${exe} does not exist: run \`npm run build\` before this test`)
  return runProcess([exe, ...args], {
    cwd: fixtures,
    env: { PATH: "/usr/bin:/bin", TMPDIR: dir, ...options.env },
    timeoutMillis: 120_000,
    ...(options.onOutput ? { onOutput: options.onOutput } : {})
  })
}

const write = (name: string, text: string): string => {
  const file = path.join(dir, name)
  writeFileSync(file, text)
  return file
}

const containersNamed = async (prefix: string): Promise<ReadonlyArray<string>> => {
  const list = (await libpod("GET", "/v4.0.0/libpod/containers/json?all=true")).json as ReadonlyArray<{ Names: ReadonlyArray<string> }>
  return list.flatMap((c) => c.Names).filter((n) => n.startsWith(prefix))
}

const busyboxJob = (task: string, opts: { script: string; task?: string; config?: string; group?: string }) =>
  write(`${task}.nomad.hcl`, `job "exe" {
  group "g" {
${opts.group ?? ""}
    task "${task}" {
      driver = "podman"
${opts.task ?? ""}
      config {
        image   = "localhost/busybox:latest"
        command = "/bin/sh"
        args    = ["-c", ${JSON.stringify(opts.script)}]
${opts.config ?? ""}
      }
    }
  }
}
`)

const tasks: Array<string> = []
afterAll(async () => {
  for (const t of tasks) for (const name of await containersNamed(t)) await removeContainer(name)
  rmSync(dir, { recursive: true, force: true })
})

describe("plan", () => {
  it("evaluates variables (default, NOMAD_VAR_*, -var-file, -var), locals and functions; the docker:// image resolved; JSON only on stdout", async () => {
    const r = await cli(["plan", "vars.nomad.hcl", "-var-file", "vars.vars.hcl", "-var", "greeting=hallo"], { env: { NOMAD_VAR_replicas: "5" } })
    expect(r.stderr).toBe("")
    expect(r.code).toBe(0)
    const spec = JSON.parse(r.stdout) as { image: string; command: Array<string>; labels: Record<string, string>; env: Record<string, string>; portmappings: Array<{ host_port: number; container_port: number }> }
    expect(spec.image).toBe("docker.io/library/redis:latest")
    // -var beats -var-file, which beats NOMAD_VAR_*: replicas = 2 (file), greeting = hallo (-var)
    expect(spec.command).toEqual(["cache-HALLO", "redis", "00000000-0000-4000-8000-000000000000", "replica-00", "replica-01"])
    expect(spec.labels).toMatchObject({ tier: "backend", team: "ops" })
    expect(spec.env["GREETING"]).toBe("Hallo")
    expect(spec.portmappings).toContainEqual(expect.objectContaining({ host_port: 20000, container_port: 6379 }))
  })

  it("is deterministic: the same inputs give the same bytes; --alloc-id names the allocation", async () => {
    const args = ["plan", "vars.nomad.hcl", "-var", "replicas=1"]
    const [a, b] = [await cli(args), await cli(args)]
    expect(a.code).toBe(0)
    expect(a.stdout).toBe(b.stdout)
    const id = "1b2c3d4e-1111-4222-8333-444455556666"
    const c = await cli([...args, "--alloc-id", id])
    expect((JSON.parse(c.stdout) as { name: string }).name).toBe(`redis.${id}`)
  })

  it("a variable without a value, an undeclared -var, a bad type: each reported, nothing on stdout", async () => {
    const r = await cli(["plan", "vars.nomad.hcl", "-var", "nope=1", "-var", "ports=3"])
    expect(r.code).toBe(1)
    expect(r.stdout).toBe("")
    const lines = r.stderr.trim().split("\n")
    expect(lines).toContain(`vars.nomad.hcl:13:1: variable "replicas" has no value: give it a default, or set it with -var replicas=…, a -var-file or NOMAD_VAR_replicas`)
    expect(lines.some((l) => /^-var nope: the job declares no variable "nope"/.test(l))).toBe(true)
    expect(lines.some((l) => /^-var ports: a list is required, got number \(variable "ports" is a list\(string\)\)/.test(l))).toBe(true)
  })

  it("the group's network: bridge mode noted, its DNS and ports in the spec", async () => {
    const r = await cli(["plan", "bridge-dns.nomad.hcl"])
    expect(r.code).toBe(0)
    expect(r.stderr).toMatch(/^note: group network mode "bridge" is Nomad's own network namespace/)
    const spec = JSON.parse(r.stdout) as Record<string, unknown>
    expect(spec).toMatchObject({ dns_server: ["192.0.2.53", "192.0.2.54"], dns_search: ["internal.example"], dns_option: ["ndots:2"] })
    expect(spec["portmappings"]).toContainEqual({ container_port: 8080, host_port: 18080, host_ip: "127.0.0.1", protocol: "tcp" })
  })

  it("the Go driver's port_map example: the task-level network's port published to 6379, NOMAD_PORT_redis set", async () => {
    const r = await cli(["plan", "portmap.nomad.hcl"])
    expect(r.code).toBe(0)
    const spec = JSON.parse(r.stdout) as { env: Record<string, string>; portmappings: ReadonlyArray<unknown> }
    expect(spec.portmappings).toEqual([
      { container_port: 6379, host_port: 20000, host_ip: "127.0.0.1", protocol: "tcp" },
      { container_port: 6379, host_port: 20000, host_ip: "127.0.0.1", protocol: "udp" }
    ])
    expect(spec.env).toMatchObject({ NOMAD_PORT_redis: "6379", foo: "bar" })
  })

  it("the Go driver's rootless example: its socket comes from the agent config, as do the SELinux label, log driver and DNS", async () => {
    const without = await cli(["plan", "rootless.nomad.hcl"])
    expect(without.code).toBe(1)
    expect(without.stdout).toBe("")
    expect(without.stderr.trim()).toBe(`rootless.nomad.hcl:25:9: socket: no Podman socket named "app1" in the plugin config (sockets: default); give the agent config with --plugin-config`)
    const r = await cli(["plan", "rootless.nomad.hcl", "--plugin-config", "rootless-agent.hcl"])
    expect(r.code).toBe(0)
    const spec = JSON.parse(r.stdout) as { mounts: ReadonlyArray<{ destination: string; options: ReadonlyArray<string> }>; dns_server: ReadonlyArray<string>; log_configuration: { driver: string } }
    expect(spec.dns_server).toEqual(["192.0.2.1"])
    expect(spec.log_configuration.driver).toBe("journald")
    // the label goes on the alloc dir mounts (the task's own volumes keep their options)
    expect(spec.mounts.find((m) => m.destination === "/var/www/app/data")?.options).toEqual(["noexec"])
    expect(spec.mounts.find((m) => m.destination === "/alloc")?.options).toContain("z")
  })
})

describe("validate", () => {
  it("problems one per line, file:line:col: field: reason, sorted by position, with did-you-mean", async () => {
    const file = write("bad.nomad.hcl", `job "x" {
  group "g" {
    task "t" {
      driver = "podman"
      config {
        image = "redis"
        volumes = ["/a:/b", "bad"]
        portz = ["db"]
        logging {
          driver = "syslog"
        }
      }
    }
  }
}
`)
    const r = await cli(["validate", file])
    expect(r.code).toBe(1)
    expect(r.stdout).toBe("")
    expect(r.stderr.trim().split("\n")).toEqual([
      `${file}:7:29: volumes[1]: invalid volume "bad" (expected source:destination[:options])`,
      `${file}:8:9: portz: unknown option (did you mean "ports"?)`,
      `${file}:10:11: logging.driver: unsupported logging driver "syslog" (expected "nomad" or "journald")`
    ])
  })

  it("an HCL syntax error is one short line, not a cascade", async () => {
    const file = write("syntax.hcl", `job "x" {\n  group "g" {\n    task "t" {\n      config {\n        image = \n      }\n    }\n  }\n}\n`)
    const r = await cli(["validate", file])
    expect(r.code).toBe(1)
    const lines = r.stderr.trim().split("\n")
    expect(lines[0]).toBe(`${file}:5:17: Invalid expression: Expected the start of an expression, but found an invalid expression token`)
    for (const l of lines) expect(l.length).toBeLessThan(200)
  })

  it("what the CLI cannot evaluate is an error naming it, never \"valid\"", async () => {
    const file = write("fs.nomad.hcl", `job "x" {\n  group "g" {\n    task "t" {\n      driver = "podman"\n      config {\n        image = "redis"\n        args  = [file("secret.txt")]\n      }\n    }\n  }\n}\n`)
    const r = await cli(["validate", file])
    expect(r.code).toBe(1)
    expect(r.stderr.trim()).toBe(`${file}:7:18: args: function file() is not supported by this CLI (Nomad has it; the job will work there)`)
  })

  it("--plugin-config alone validates the plugin block; its problems at their lines", async () => {
    expect(await cli(["validate", "--plugin-config", "rootless-agent.hcl"])).toMatchObject({ code: 0, stdout: "valid\n" })
    const agent = write("agent.hcl", `plugin "nomad-driver-podman" {\n  config {\n    socket_path = "unix:///x.sock"\n    socket {\n      name = "a"\n    }\n    volumez {}\n  }\n}\n`)
    const r = await cli(["validate", "--plugin-config", agent])
    expect(r.code).toBe(1)
    expect(r.stderr.trim().split("\n")).toEqual([
      `${agent}:3:5: socket_path: cannot be combined with socket blocks; declare every endpoint as a socket block`,
      `${agent}:4:5: socket[0].socket_path: is required`,
      `${agent}:7:5: volumez: unknown option (did you mean "volumes"?)`
    ])
  })
})

describe("run", () => {
  it("exits with the task's code; the container and the private alloc dir are removed", async () => {
    const task = `code${suffix}`
    tasks.push(task)
    const r = await cli(["run", busyboxJob(task, { script: "echo out; echo err >&2; exit 3" }), "--socket-path", socket])
    expect(r.stdout).toBe("out\n")
    expect(r.stderr).toContain("err\n")
    expect(r.code).toBe(3)
    const allocDir = /in alloc dir (\S+)/.exec(r.stderr)?.[1]
    expect(allocDir).toMatch(new RegExp(`^${dir}/nomad-driver-podman-alloc-`))
    expect(existsSync(allocDir!)).toBe(false)
    expect(await containersNamed(task)).toEqual([])
  })

  it("125 when the driver fails (an image that cannot be pulled), not the task's 1", async () => {
    const file = write("nopull.hcl", `image = "127.0.0.1:1/nope:latest"\n`)
    const r = await cli(["run", file, "--socket-path", socket])
    expect(r.code).toBe(125)
    expect(r.stderr).toMatch(/failed to pull image 127\.0\.0\.1:1\/nope:latest/)
  })

  it("Ctrl-C sends the job's kill_signal; published host ports are printed; ${NOMAD_*} and ${attr.*} interpolated", async () => {
    const task = `sig${suffix}`
    tasks.push(task)
    const file = busyboxJob(task, {
      task: `kill_signal = "SIGINT"\nkill_timeout = "60s"`,
      group: `network {\n  port "http" {\n    to = 8080\n  }\n}`,
      script: "trap 'echo got INT; exit 0' INT; echo ready ${NOMAD_TASK_NAME} ${attr.kernel.name}; while true; do sleep 1; done",
      config: `ports = ["http"]`
    })
    let sent = false
    const r = await cli(["run", file, "--socket-path", socket], {
      onOutput: ({ stdout }, kill) => {
        if (!sent && stdout.includes("ready")) {
          sent = true
          kill("SIGINT")
        }
      }
    })
    expect(sent).toBe(true)
    expect(r.stderr).toMatch(/==> port http: 127\.0\.0\.1:\d+ -> 8080 \(tcp, udp\)/)
    expect(r.stderr).toMatch(/SIGINT: stopping .* \(SIGINT, SIGKILL after 1m/)
    expect(r.stdout).toContain(`ready ${task} linux\n`)
    expect(r.stdout).toContain("got INT")
    expect(r.code).toBe(0)
    expect(await containersNamed(task)).toEqual([])
  })

  it("SIGHUP (a closed terminal) stops the task and cleans up; a planted symlink at an old fixed path is never followed", async () => {
    const task = `hup${suffix}`
    tasks.push(task)
    const allocId = "7e57a110-0000-4000-8000-000000000001"
    // a victim directory, and a symlink where a fixed alloc dir path would be
    const victim = path.join(dir, "victim")
    mkdirSync(victim)
    writeFileSync(path.join(victim, "keep"), "x")
    mkdirSync(path.join(dir, "nomad-driver-podman", "alloc"), { recursive: true })
    symlinkSync(victim, path.join(dir, "nomad-driver-podman", "alloc", allocId))
    let sent = false
    const r = await cli(["run", busyboxJob(task, { task: `kill_timeout = "2s"`, script: "echo ready; sleep 300" }), "--socket-path", socket, "--alloc-id", allocId], {
      onOutput: ({ stdout }, kill) => {
        if (!sent && stdout.includes("ready")) {
          sent = true
          kill("SIGHUP")
        }
      }
    })
    expect(sent).toBe(true)
    expect(r.stderr).toMatch(/SIGHUP: stopping/)
    // PID 1 ignores SIGTERM: SIGKILL after the kill_timeout
    expect([137, 143]).toContain(r.code)
    expect(await containersNamed(task)).toEqual([])
    expect(readdirSync(victim)).toEqual(["keep"])
    expect(readdirSync(dir).filter((f) => f.startsWith("nomad-driver-podman-alloc-"))).toEqual([])
  })

  it("a second signal kills at once", async () => {
    const task = `kill${suffix}`
    tasks.push(task)
    let stage = 0
    const r = await cli(["run", busyboxJob(task, { task: `kill_timeout = "120s"`, script: "trap '' TERM; echo stubborn; sleep 300" }), "--socket-path", socket], {
      onOutput: ({ stdout, stderr }, kill) => {
        if (stage === 0 && stdout.includes("stubborn")) {
          stage = 1
          kill("SIGTERM")
        } else if (stage === 1 && stderr.includes("SIGTERM: stopping")) {
          stage = 2
          kill("SIGINT")
        }
      }
    })
    expect(stage).toBe(2)
    expect(r.stderr).toMatch(/SIGINT: killing/)
    expect(r.code).toBe(137)
    expect(await containersNamed(task)).toEqual([])
  })

  it("a task on a named socket of the agent config (the rootless example's shape)", async () => {
    const task = `app1${suffix}`
    tasks.push(task)
    const agent = write("app1-agent.hcl", `plugin "nomad-driver-podman" {\n  config {\n    socket {\n      name        = "default"\n      socket_path = "unix:///nonexistent/podman.sock"\n    }\n    socket {\n      name        = "app1"\n      socket_path = "${socket}"\n    }\n  }\n}\n`)
    const r = await cli(["run", busyboxJob(task, { script: "echo on app1", config: `socket = "app1"` }), "--plugin-config", agent])
    expect(r.stdout).toBe("on app1\n")
    expect(r.code).toBe(0)
  })
})

describe("doctor", () => {
  it("a missing socket: the fix (start the service), exit 1, no attributes", async () => {
    const r = await cli(["doctor", "--socket-path", `unix://${dir}/missing.sock`])
    expect(r.code).toBe(1)
    expect(r.stdout).toContain("systemctl enable --now podman.socket")
    expect(r.stdout).not.toContain("attributes:")
  })

  it("a path that is not a socket says so", async () => {
    const file = write("plain-file", "")
    const r = await cli(["doctor", "--socket-path", `unix://${file}`])
    expect(r.code).toBe(1)
    expect(r.stdout).toContain(`${file} is not a socket (it is a file)`)
    expect(statSync(file).isFile()).toBe(true)
  })

  it("a stale socket (its service died) says nothing listens and how to restart it", async () => {
    const stale = path.join(dir, "stale.sock")
    // a process listening on the socket is killed: the socket file stays, nothing listens
    const child = spawn(NODE22, ["-e", `require("net").createServer().listen(${JSON.stringify(stale)}, () => console.log("listening"))`], { stdio: ["ignore", "pipe", "inherit"] })
    await new Promise<void>((resolve) => child.stdout.once("data", () => resolve()))
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()))
    child.kill("SIGKILL")
    await exited
    const r = await cli(["doctor", "--socket-path", `unix://${stale}`])
    expect(r.code).toBe(1)
    expect(r.stdout).toContain(`nothing listens on ${stale} (a stale socket file: the service stopped). Fix: start Podman's API service`)
  })

  it("healthy on the sandbox socket, with a plugin config checked first", async () => {
    const agent = write("doctor-agent.hcl", `plugin "nomad-driver-podman" {\n  config {\n    socket_path = "${socket}"\n  }\n}\n`)
    const r = await cli(["doctor", "--plugin-config", agent])
    expect(r.stdout).toContain(`plugin config: ${agent}: valid`)
    expect(r.stdout).toMatch(/^health: healthy/m)
    expect(r.stdout).toContain("attributes:")
    expect(r.code).toBe(0)
  })
})
