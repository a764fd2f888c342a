/**
 * Conformance: the config bytes Nomad really sends, end to end through our decoders
 * (docs/config.md, "What Nomad sends"). For each case the input is what the Nomad client feeds hcldec
 * (jobspec2's "blocks as attributes" rewrite for task configs, HCL1 lists of maps for the agent's
 * plugin block), decoded against the spec WE send (taskConfigSpec / pluginConfigSpec), encoded as
 * cty msgpack, then decoded by layers/nomad-rpc/cty.ts and decodeTaskConfig / decodePluginConfig.
 */
import { Duration, Effect, Exit } from "effect"
import { describe, expect, it } from "vitest"
import { decodeCtyMsgpack } from "../../layers/nomad-rpc/cty.ts"
import { decodePluginConfig, type PluginConfig, pluginConfigSpec } from "../../src/domain/PluginConfig.ts"
import { decodeUnknownTaskConfig, type TaskConfig, taskConfigSpec } from "../../src/domain/TaskConfig.ts"
import { ctyEncode } from "../support/nomad/ctyEncode.ts"
import { decodeLikeNomad } from "../support/nomad/hcldec.ts"

const wireTask = (input: Record<string, unknown>): TaskConfig => {
  const bytes = ctyEncode(decodeLikeNomad(taskConfigSpec, input))
  const exit = Effect.runSyncExit(decodeUnknownTaskConfig(decodeCtyMsgpack(bytes)))
  if (Exit.isFailure(exit)) throw new Error(`task config rejected: ${String(exit.cause)}`)
  return exit.value
}

const wirePlugin = (input: Record<string, unknown>): PluginConfig => {
  const bytes = ctyEncode(decodeLikeNomad(pluginConfigSpec, input))
  const exit = Effect.runSyncExit(decodePluginConfig(decodeCtyMsgpack(bytes)))
  if (Exit.isFailure(exit)) throw new Error(`plugin config rejected: ${String(exit.cause)}`)
  return exit.value
}

describe("task config as Nomad sends it (HCL2 job, jobspec2 rewrite)", () => {
  it("only image: every other attribute arrives as nil / literal default and decodes to the defaults", () => {
    const c = wireTask({ image: "docker.io/library/busybox:latest" })
    expect(c.image.text).toBe("docker.io/library/busybox:latest")
    expect(c.labels).toEqual({})
    expect(c.port_map).toEqual({})
    expect(c.volumes).toEqual([])
    expect(c.logging).toBeUndefined()
    expect(c.auth.tls_verify).toBeUndefined()
    expect(c.socket).toBe("default")
    expect(Duration.toMillis(c.image_pull_timeout)).toBe(300_000)
  })

  it("labels = {a=\"b\"} arrives as [{a: b}]", () => {
    expect(wireTask({ image: "x", labels: [{ a: "b" }] }).labels).toEqual({ a: "b" })
  })

  it("two labels blocks arrive as two list entries and merge", () => {
    expect(wireTask({ image: "x", labels: [{ a: "1" }, { b: "2" }] }).labels).toEqual({ a: "1", b: "2" })
  })

  it("port_map { http = 8080 } arrives as [{http: 8080}]", () => {
    expect(wireTask({ image: "x", port_map: [{ http: 8080 }] }).port_map).toEqual({ http: 8080 })
  })

  it("logging { driver = \"journald\" options { tag = \"x\" } }", () => {
    const c = wireTask({ image: "x", logging: [{ driver: "journald", options: [{ tag: "x" }] }] })
    expect(c.logging).toEqual({ driver: "journald", options: { tag: "x" } })
  })

  it("logging block without options: options nil → empty map", () => {
    expect(wireTask({ image: "x", logging: [{ driver: "nomad" }] }).logging).toEqual({ driver: "nomad", options: {} })
  })

  it("auth { username password }: tls_verify stays unset (registries.conf decides)", () => {
    const c = wireTask({ image: "x", auth: [{ username: "u", password: "p" }] })
    expect(c.auth).toEqual({ username: "u", password: "p" })
  })

  it("volumes list, entrypoint list, ulimit and sysctl maps", () => {
    const c = wireTask({
      image: "x",
      volumes: ["/a:/b", "local/x:/y:ro"],
      entrypoint: ["/bin/sh", "-c"],
      ulimit: [{ nofile: "1024:2048" }],
      sysctl: [{ "net.core.somaxconn": "16384" }]
    })
    expect(c.volumes).toEqual([
      { source: "/a", destination: "/b", options: [] },
      { source: "local/x", destination: "/y", options: ["ro"] }
    ])
    expect(c.entrypoint).toEqual(["/bin/sh", "-c"])
    expect(c.ulimit).toEqual({ nofile: { soft: 1024, hard: 2048 } })
    expect(c.sysctl).toEqual({ "net.core.somaxconn": "16384" })
  })

  it("an unknown key is rejected by Nomad itself (hcldec), before the plugin sees it", () => {
    expect(() => decodeLikeNomad(taskConfigSpec, { image: "x", imag: "y" })).toThrow(/imag/)
  })
})

describe("plugin config as the agent sends it (HCL1: nested blocks are lists of maps)", () => {
  it("no config block: defaults and block literals", () => {
    const c = wirePlugin({})
    expect(c.volumes).toEqual({ enabled: true })
    expect(c.gc).toEqual({
      container: true,
      image: true,
      image_delay: Duration.minutes(3),
      dangling_containers: { enabled: true, dry_run: false, period: Duration.minutes(5), creation_grace: Duration.minutes(5) }
    })
    expect(c.allow_privileged).toBe(false)
    expect(c.allow_caps).toContain("chown")
    expect(c.logging).toEqual({ driver: "nomad", options: {} })
    expect(c.socket).toEqual([])
    expect(c.extra_labels).toEqual([])
    expect(c.recover_stopped).toBe(false)
  })

  it("volumes { enabled = false } as [{enabled: false}]", () => {
    const c = wirePlugin({ volumes: [{ enabled: false }] })
    expect(c.volumes.enabled).toBe(false)
  })

  it("gc { container = false }, recover_stopped, extra_labels", () => {
    const c = wirePlugin({ gc: [{ container: false }], recover_stopped: true, extra_labels: ["job_name", "task_*"] })
    expect(c.gc.container).toBe(false)
    expect(c.recover_stopped).toBe(true)
    expect(c.extra_labels).toEqual(["job_name", "task_*"])
  })

  it("two socket blocks; name defaults to \"default\"", () => {
    const c = wirePlugin({
      socket: [{ socket_path: "unix:///run/podman/podman.sock" }, { name: "app", socket_path: "unix:///run/user/1000/podman/podman.sock" }]
    })
    expect(c.socket).toEqual([
      { name: "default", socket_path: "unix:///run/podman/podman.sock" },
      { name: "app", socket_path: "unix:///run/user/1000/podman/podman.sock" }
    ])
  })

  it("logging { driver = \"journald\" options { tag = \"x\" } } (options is a block_attrs)", () => {
    expect(wirePlugin({ logging: [{ driver: "journald", options: [{ tag: "x" }] }] }).logging).toEqual({
      driver: "journald",
      options: { tag: "x" }
    })
  })
})
