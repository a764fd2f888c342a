/**
 * `validate` rejects exactly what StartTask rejects short of Podman itself. Each job file below is
 * run through the CLI's `validate` AND through StartTask's pure path as Nomad drives it (the config
 * block → Nomad's hcldec against our hclspec → cty msgpack → the gRPC edge's decoder → the
 * translation against the task with the group's ports); both must report the same issues, field
 * and reason, and the field must be the one expected.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { Cause, Effect, Exit } from "effect"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import { afterAll, describe, expect, it } from "vitest"
import { decodeCty } from "../../layers/nomad-rpc/cty.ts"
import { loadTask } from "../../src/cli/jobfile.ts"
import type { ConfigIssue } from "../../src/domain/errors.ts"
import { makeNomadTask } from "../../src/domain/NomadTask.ts"
import { defaultPluginConfig } from "../../src/domain/PluginConfig.ts"
import { decodeUnknownTaskConfig, taskConfigSpec } from "../../src/domain/TaskConfig.ts"
import { translate } from "../../src/translate/index.ts"
import { ctyEncode } from "../support/nomad/ctyEncode.ts"
import { decodeLikeNomad } from "../support/nomad/hcldec.ts"
import { cli } from "./CliSupport.ts"

const dir = mkdtempSync(path.join(tmpdir(), "ndp-validate-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const jobFile = (name: string, config: string): string => {
  const file = path.join(dir, `${name}.nomad.hcl`)
  writeFileSync(file, `
job "shop" {
  group "front" {
    network {
      port "http" { to = 8080 }
    }
    task "web" {
      driver = "podman"
      config {
${config.includes("image =") ? "" : `image = "docker.io/library/busybox:latest"`}
${config}
      }
    }
  }
}
`)
  return file
}

/** StartTask short of Podman, fed as Nomad feeds it: decode at the gRPC edge, then the translation. */
const startTaskIssues = (file: string) =>
  Effect.gen(function*() {
    const src = yield* loadTask(file)
    const bytes = ctyEncode(decodeLikeNomad(taskConfigSpec, src.rawConfig))
    const config = yield* decodeUnknownTaskConfig(yield* decodeCty(bytes))
    const task = makeNomadTask({
      name: src.taskName,
      allocDir: "/var/nomad/alloc/0c3b2b4e",
      resources: { ports: src.network.ports.map((p, i) => ({ label: p.label, value: 25000 + i, to: p.to ?? 0, hostIp: "" })) }
    })
    yield* translate({
      config,
      task,
      plugin: defaultPluginConfig,
      podman: { rootless: false, cgroupVersion: "v2", cgroupManager: "systemd", apiVersion: "4.3.1", hostCpus: 2 }
    })
  }).pipe(
    Effect.provide(NodeFileSystem.layer),
    Effect.exit,
    Effect.map((exit): ReadonlyArray<ConfigIssue> => {
      if (Exit.isSuccess(exit)) return []
      const e = Cause.findErrorOption(exit.cause)
      if (e._tag === "None" || e.value._tag !== "InvalidTaskConfig") throw new Error(`unexpected failure: ${Cause.pretty(exit.cause)}`)
      return e.value.issues
    })
  )

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")

const cases: ReadonlyArray<readonly [string, string, string, RegExp]> = [
  ["security_opt", `security_opt = ["bogus=1"]`, "security_opt[0]", /unknown security_opt "bogus"/],
  ["userns", `userns = "bogus"`, "userns", /unknown userns mode "bogus"/],
  ["ipc_mode", `ipc_mode = "bogus:x"`, "ipc_mode", /invalid ipc_mode "bogus:x"/],
  ["network_mode", `network_mode = "bad name!"`, "network_mode", /invalid network mode or network name "bad name!"/],
  ["devices", `devices = ["nodev"]`, "devices[0]", /invalid device "nodev"/],
  ["tmpfs", `tmpfs = ["rel"]`, "tmpfs[0]", /must be an absolute path/],
  ["volumes", `volumes = ["a"]`, "volumes[0]", /invalid volume "a"/],
  ["shm_size with host ipc", `shm_size = "64m"\nipc_mode = "host"`, "shm_size", /needs a private or shareable IPC namespace/],
  ["shm_size zero", `shm_size = "0"`, "shm_size", /must be more than 0 bytes/],
  ["ports", `ports = ["nope"]`, "ports[0]", /port "nope" not found in the group's network block \(known: http\)/],
  ["kill_signal", `kill_signal = "SIGNOPE"`, "kill_signal", /unknown signal/],
  ["stop_timeout", `stop_timeout = "99999999999h"`, "stop_timeout", /invalid duration/],
  ["image", `image = "UPPER/case"`, "image", /invalid repository name/]
]

describe("validate rejects what StartTask rejects, with the same field and reason", () => {
  for (const [name, config, field, reason] of cases) {
    it(name, async () => {
      const file = jobFile(name.replace(/\W+/g, "-"), config)
      const fromStart = await Effect.runPromise(startTaskIssues(file))
      expect(fromStart.map((i) => i.field)).toEqual([field])
      expect(fromStart[0]!.reason).toMatch(reason)
      const r = await cli(["validate", file])
      expect(r.code).toBe(1)
      // on stderr, each at its line in the job file
      expect(r.stdout).toBe("")
      expect(r.stderr.split("\n")).toEqual(fromStart.map((i) => expect.stringMatching(new RegExp(`^${escape(file)}:\\d+:\\d+: ${escape(`${i.field}: ${i.reason}`)}$`))))
    })
  }

  it("a config both accept is valid in both", async () => {
    const file = jobFile("ok", `ports = ["http"]\nshm_size = "64m"\nvolumes = ["data:/data:ro"]\nsecurity_opt = ["no-new-privileges"]`)
    expect(await Effect.runPromise(startTaskIssues(file))).toEqual([])
    expect(await cli(["validate", file])).toMatchObject({ code: 0, stdout: "valid" })
  })
})
