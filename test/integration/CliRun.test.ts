/**
 * `run` and `doctor` against the real (sandbox) Podman, as a user runs them: the CLI as a
 * subprocess (src/cli/main.ts on Node 22, one process, so Ctrl-C reaches the CLI itself),
 * container output in the terminal, the container's exit code as the process's, Ctrl-C stops and
 * removes the container.
 */
import { writeFileSync } from "node:fs"
import * as path from "node:path"
import { libpod, removeContainer } from "../support/libpod.ts"
import { cliArgv, type ProcessResult, REPO_ROOT, runProcess, type RunOptions } from "../support/processes.ts"
import { tempDirForFile } from "../support/tmp.ts"
import { afterAll, describe, expect, it } from "vitest"

const root = REPO_ROOT
const socket = process.env["PODMAN_SOCKET"]!
const dir = tempDirForFile("ndp-clirun-")
const suffix = Math.random().toString(36).slice(2, 8)

/** Runs the CLI; `onOutput` sees its output as it arrives (to send Ctrl-C at the right moment). */
const runCli = (args: ReadonlyArray<string>, onOutput?: RunOptions["onOutput"]): Promise<ProcessResult> =>
  runProcess([...cliArgv(), ...args], { env: { ...process.env, PODMAN_SOCKET: socket }, ...(onOutput ? { onOutput } : {}) })

/** GET on the sandbox Podman API (the shared test helper). */
const podmanGet = async (p: string): Promise<unknown> => (await libpod("GET", p)).json

const containersNamed = async (prefix: string): Promise<ReadonlyArray<string>> => {
  const list = (await podmanGet("/v4.0.0/libpod/containers/json?all=true")) as ReadonlyArray<{ Names: ReadonlyArray<string> }>
  return list.flatMap((c) => c.Names).filter((n) => n.startsWith(prefix))
}

const removeContainersNamed = async (prefix: string): Promise<void> => {
  for (const name of await containersNamed(prefix)) await removeContainer(name)
}

const jobFile = (task: string, args: string): string => {
  const file = path.join(dir, `${task}.nomad.hcl`)
  writeFileSync(file, `job "clirun" {
  group "g" {
    task "${task}" {
      driver = "podman"
      config {
        image   = "localhost/busybox:latest"
        command = "/bin/sh"
        args    = ${args}
      }
    }
  }
}
`)
  return file
}

/** Ids of containers of the shared example job this file started (other files run it too, in parallel). */
const helloIds: Array<string> = []
const containerExists = async (shortId: string): Promise<boolean> => {
  const list = (await podmanGet("/v4.0.0/libpod/containers/json?all=true")) as ReadonlyArray<{ Id: string }>
  return list.some((c) => c.Id.startsWith(shortId))
}

afterAll(async () => {
  for (const prefix of [`exit3${suffix}`, `sleeper${suffix}`, `killer${suffix}`]) await removeContainersNamed(prefix)
  for (const id of helloIds) await removeContainer(id)
})

describe("run", () => {
  it("runs examples/hello.nomad.hcl: output in the terminal, exit 0, container removed", async () => {
    const r = await runCli(["run", path.join(root, "examples/hello.nomad.hcl"), "--socket-path", socket])
    expect(r.stderr).toContain("task hello says bye")
    expect(r.stdout).toContain("hello from nomad-driver-podman")
    expect(r.stderr).toMatch(/task hello exited with code 0/)
    expect(r.code).toBe(0)
    // only this run's container: the executable's test runs the same job at the same time
    const id = /started: container ([0-9a-f]{12})/.exec(r.stderr)?.[1]
    expect(id).toBeDefined()
    helloIds.push(id!)
    expect(await containerExists(id!)).toBe(false)
  })

  it("exits with the container's exit code", async () => {
    const task = `exit3${suffix}`
    const r = await runCli(["run", jobFile(task, `["-c", "echo failing; exit 3"]`)])
    expect(r.stdout).toContain("failing")
    expect(r.code).toBe(3)
    expect(await containersNamed(task)).toEqual([])
  })

  it("Ctrl-C stops the task and removes its container", async () => {
    const task = `sleeper${suffix}`
    let sent = false
    const r = await runCli(["run", jobFile(task, `["-c", "echo sleeping; sleep 300"]`)], ({ stderr }, kill) => {
      if (!sent && stderr.includes("started: container")) {
        sent = true
        kill("SIGINT")
      }
    })
    expect(sent).toBe(true)
    expect(r.stderr).toMatch(/stopping/)
    // killed by a signal: 128 + SIGTERM or SIGKILL, as the shell reports it
    expect([143, 137]).toContain(r.code)
    expect(await containersNamed(task)).toEqual([])
  })

  it("a second Ctrl-C kills the task at once, and the container is still removed", async () => {
    const task = `killer${suffix}`
    let stage = 0
    const r = await runCli(["run", jobFile(task, `["-c", "trap '' TERM; echo stubborn; sleep 300"]`)], ({ stdout, stderr }, kill) => {
      // "stubborn" on its output: the task ignores SIGTERM from here on
      if (stage === 0 && stdout.includes("stubborn")) {
        stage = 1
        kill("SIGINT")
      } else if (stage === 1 && stderr.includes("SIGINT: stopping")) {
        stage = 2
        kill("SIGINT")
      }
    })
    expect(stage).toBe(2)
    expect(r.stderr).toMatch(/SIGINT: killing/)
    expect(r.code).toBe(137)
    expect(await containersNamed(task)).toEqual([])
  })

  it("an invalid config fails before touching Podman, with 125 (the driver failed, not the task)", async () => {
    const file = path.join(dir, "bad.hcl")
    writeFileSync(file, `image = "localhost/busybox:latest"\nports = 5\n`)
    const r = await runCli(["run", file, "--socket-path", "unix:///nonexistent.sock"])
    expect(r.code).toBe(125)
    expect(r.stderr).toMatch(/bad\.hcl:2:1: ports: /m)
  })
})

describe("doctor", () => {
  it("reports a healthy driver on the sandbox socket", async () => {
    const r = await runCli(["doctor", "--socket-path", socket])
    expect(r.stdout).toContain(`socket default: ${socket}`)
    expect(r.stdout).toContain("ping: ok")
    expect(r.stdout).toMatch(/^ {2}podman: 4\./m)
    expect(r.stdout).toMatch(/^health: healthy/m)
    expect(r.code).toBe(0)
  })

  it("exits 1 when the socket is not there", async () => {
    const r = await runCli(["doctor", "--socket-path", `unix://${dir}/missing.sock`])
    expect(r.stdout).toContain("no such file")
    expect(r.stdout).not.toMatch(/^health: healthy/m)
    expect(r.code).toBe(1)
  })
})
