/**
 * Node hygiene against a PRIVATE Podman sandbox (its own service and registry, test/support/
 * privateSandbox.ts), because these tests stop the Podman service, run a dangling-container reaper
 * and image GC, which on the shared sandbox would take other files' containers and images:
 *
 * - eventual removal: DestroyTask of running and exited tasks while the Podman service is down is
 *   answered OK, and the containers are gone soon after the service is back; with a plugin restart
 *   in between, the next plugin's reaper removes them;
 * - the reaper: a container made directly in Podman with the driver's labels is removed once older
 *   than creation_grace; one with the docker driver's label is not;
 * - image GC: an image pulled from the registry is removed image_delay after its last task, also
 *   when the plugin restarted in between; an image that was there before stays;
 * - pull stalls: a registry proxy that stops forwarding mid-layer makes the pull fail after
 *   pull_activity_timeout with reason timeout, and Podman abandons it (nothing is left).
 */
import { execFileSync } from "node:child_process"
import { randomBytes, randomUUID } from "node:crypto"
import * as fs from "node:fs"
import * as net from "node:net"
import * as path from "node:path"
import { expect, it } from "@effect/vitest"
import { Duration, Effect, Exit } from "effect"
import { afterAll, beforeAll, describe } from "vitest"
import { guestConfig } from "../../layers/stacks.ts"
import { makeNomadTask } from "../../src/domain/NomadTask.ts"
import { defaultPluginConfig, type PluginConfig } from "../../src/domain/PluginConfig.ts"
import { GC_MARKER_REPO } from "../../src/driver/imageGc.ts"
import { RETRY_CAP } from "../../src/driver/removals.ts"
import { LABEL_ALLOC_ID } from "../../src/translate/index.ts"
import { Driver } from "../../src/services/Driver.ts"
import { cfg, withDriver } from "../support/driver.ts"
import { eventually } from "../support/eventually.ts"
import { imageNames, podmanRaw, pushImage, remoteOnlyImage, removeImage } from "../support/images.ts"
import { freePort, type PrivateSandbox, startPrivateSandbox } from "../support/privateSandbox.ts"

const creds = { username: "testuser", password: "testpass" }
const busybox = "localhost/busybox:latest"

let sandbox: PrivateSandbox
let proxy: StallingProxy

beforeAll(async () => {
  const port = await freePort()
  sandbox = await startPrivateSandbox({ extraInsecure: `127.0.0.1:${port}` })
  proxy = await stallingProxy(port, Number(sandbox.registry.split(":")[1]))
}, 180_000)

afterAll(async () => {
  await proxy?.close()
  sandbox?.stop()
}, 120_000)

/** The private sandbox's driver: no reaper and no image GC unless `more` turns them on. */
const config = (more: Partial<PluginConfig> = {}, gc: Partial<PluginConfig["gc"]> = {}): Partial<PluginConfig> => {
  const base = guestConfig(defaultPluginConfig)
  return { ...base, socket_path: sandbox.socket, ...more, gc: { ...base.gc, ...gc } }
}
const reaping = (period: Duration.Input, grace: Duration.Input) => ({
  dangling_containers: { enabled: true, dry_run: false, period: Duration.fromInputUnsafe(period), creation_grace: Duration.fromInputUnsafe(grace) }
})

const api = (method: "GET" | "POST" | "DELETE", p: string, body?: unknown) =>
  Effect.promise(() => podmanRaw(sandbox.socket, method, `/v4.0.0/libpod${p}`, body === undefined ? undefined : Buffer.from(JSON.stringify(body)), body === undefined ? {} : { "Content-Type": "application/json" }))
const exists = (id: string) => api("GET", `/containers/${id}/exists`).pipe(Effect.map((r) => r.status === 204))
/** Container ids as Podman's CLI sees them in local mode (works while the API service is down). */
const cliContainerIds = () =>
  execFileSync("podman", ["ps", "-a", "--no-trunc", "--format", "{{.ID}}"], { env: { ...process.env, ...sandbox.cliEnv }, encoding: "utf8" })
    .split("\n").filter((l) => l !== "")

const BOUND = Duration.sum(RETRY_CAP, Duration.seconds(30))

describe("eventual removal while the Podman service is down", () => {
  it.live("DestroyTask of running and exited tasks answers OK; once the service is back the containers are gone within a bound", () =>
    withDriver(config(), Effect.gen(function*() {
      const d = yield* Driver
      const running = makeNomadTask({ name: "running" })
      const exited = makeNomadTask({ name: "exited" })
      const r = yield* d.startTask(running, cfg({ image: busybox, command: "/bin/sleep", args: ["300"] }))
      const e = yield* d.startTask(exited, cfg({ image: busybox, command: "/bin/sh", args: ["-c", "exit 3"] }))
      expect((yield* d.waitTask(exited.id)).exitCode).toBe(3)
      sandbox.serviceStop()
      try {
        yield* d.destroyTask(running.id, true)
        yield* d.destroyTask(exited.id, true)
        expect(yield* d.hasTask(running.id)).toBe(false)
        expect(cliContainerIds()).toEqual(expect.arrayContaining([r.state.containerId, e.state.containerId]))
      } finally {
        sandbox.serviceStart()
      }
      yield* eventually(Effect.gen(function*() {
        expect(yield* exists(r.state.containerId)).toBe(false)
        expect(yield* exists(e.state.containerId)).toBe(false)
      }), { timeout: BOUND, interval: "250 millis" })
    })), 120_000)

  it.live("with a plugin restart in between, the next plugin's reaper removes them; a tracked task is left alone", () =>
    Effect.gen(function*() {
      const ids = yield* withDriver(config(), Effect.gen(function*() {
        const d = yield* Driver
        const running = makeNomadTask({ name: "running2" })
        const exited = makeNomadTask({ name: "exited2" })
        const r = yield* d.startTask(running, cfg({ image: busybox, command: "/bin/sleep", args: ["300"] }))
        const e = yield* d.startTask(exited, cfg({ image: busybox, command: "/bin/sh", args: ["-c", "exit 4"] }))
        yield* d.waitTask(exited.id)
        sandbox.serviceStop()
        yield* d.destroyTask(running.id, true)
        yield* d.destroyTask(exited.id, true)
        // the plugin stops (the end of this driver) with both removals pending
        return [r.state.containerId, e.state.containerId]
      })).pipe(Effect.ensuring(Effect.sync(() => sandbox.serviceStart())))
      yield* withDriver(config({}, reaping("1 second", "1 second")), Effect.gen(function*() {
        const d = yield* Driver
        const keep = makeNomadTask({ name: "tracked" })
        const k = yield* d.startTask(keep, cfg({ image: busybox, command: "/bin/sleep", args: ["300"] }))
        yield* eventually(Effect.gen(function*() {
          for (const id of ids) expect(yield* exists(id)).toBe(false)
        }), { timeout: "60 seconds", interval: "250 millis" })
        // a later round (seen by the removal of an orphan made now, when the tracked container is
        // older than creation_grace too) leaves the tracked task alone
        const alloc = randomUUID()
        const orphan = yield* api("POST", "/containers/create", { name: `late.${alloc}`, image: busybox, labels: { [LABEL_ALLOC_ID]: alloc }, netns: { nsmode: "none" } })
        const orphanId = JSON.parse(orphan.text).Id as string
        yield* eventually(Effect.gen(function*() {
          expect(yield* exists(orphanId)).toBe(false)
        }), { timeout: "60 seconds", interval: "250 millis" })
        expect(yield* exists(k.state.containerId)).toBe(true)
        yield* d.destroyTask(keep.id, true)
      }))
    }), 180_000)
})

describe("dangling-container reaper", () => {
  it.live("a container made directly in Podman with the driver's label goes once older than creation_grace; one with the docker driver's label stays", () =>
    Effect.gen(function*() {
      const alloc = randomUUID()
      const ours = yield* api("POST", "/containers/create", {
        name: `orphan.${alloc}`, image: busybox, command: ["sleep", "300"], labels: { [LABEL_ALLOC_ID]: alloc }, netns: { nsmode: "none" }
      })
      const docker = yield* api("POST", "/containers/create", {
        name: `orphan-${alloc}`, image: busybox, command: ["sleep", "300"], labels: { "com.hashicorp.nomad.alloc_id": alloc }, netns: { nsmode: "none" }
      })
      const oursId = JSON.parse(ours.text).Id as string
      const dockerId = JSON.parse(docker.text).Id as string
      yield* api("POST", `/containers/${oursId}/start`)
      yield* api("POST", `/containers/${dockerId}/start`)
      yield* withDriver(config({}, reaping("1 second", "3 seconds")), Effect.gen(function*() {
        yield* Driver
        yield* eventually(Effect.gen(function*() {
          expect(yield* exists(oursId)).toBe(false)
        }), { timeout: "60 seconds", interval: "250 millis" })
        expect(yield* exists(dockerId)).toBe(true)
      }))
      yield* api("DELETE", `/containers/${dockerId}?force=true&timeout=0`)
    }), 120_000)
})

describe("image garbage collection", () => {
  it.live("a pulled image goes image_delay after its last task; an image that was there before stays", () =>
    Effect.gen(function*() {
      const { ref, id } = yield* Effect.promise(() => remoteOnlyImage(sandbox.socket, sandbox.registry, creds, `gc-${randomUUID().slice(0, 8)}`))
      expect(yield* Effect.promise(() => imageNames(sandbox.socket, id))).toBeUndefined()
      yield* withDriver(config({}, { image: true, image_delay: Duration.seconds(2) }), Effect.gen(function*() {
        const d = yield* Driver
        const pulled = makeNomadTask({ name: "pulled" })
        const local = makeNomadTask({ name: "local" })
        yield* d.startTask(pulled, cfg({ image: ref, command: "/bin/sleep", args: ["300"], auth: creds }))
        yield* d.startTask(local, cfg({ image: busybox, command: "/bin/sleep", args: ["300"] }))
        expect(yield* Effect.promise(() => imageNames(sandbox.socket, id))).toEqual(expect.arrayContaining([ref, `${GC_MARKER_REPO}:${id}`]))
        yield* d.destroyTask(pulled.id, true)
        yield* d.destroyTask(local.id, true)
        yield* eventually(Effect.gen(function*() {
          expect(yield* Effect.promise(() => imageNames(sandbox.socket, id))).toBeUndefined()
        }), { timeout: "60 seconds", interval: "250 millis" })
        // removed together with the pulled one's, had it been the driver's
        expect(yield* Effect.promise(() => imageNames(sandbox.socket, busybox))).toEqual([busybox])
        // an archive of an image that is already there brings nothing: not marked
        const archived = makeNomadTask({ name: "archived" })
        yield* d.startTask(archived, cfg({ image: `oci-archive:${sandbox.dir}/busybox-oci.tar`, command: "/bin/true" }))
        yield* d.waitTask(archived.id)
        yield* d.destroyTask(archived.id, true)
        expect(yield* Effect.promise(() => imageNames(sandbox.socket, busybox))).toEqual([busybox])
      }))
    }), 120_000)

  it.live("the record survives a plugin restart: the next plugin removes a marked image nobody uses", () =>
    Effect.gen(function*() {
      const { ref, id } = yield* Effect.promise(() => remoteOnlyImage(sandbox.socket, sandbox.registry, creds, `gcr-${randomUUID().slice(0, 8)}`))
      yield* withDriver(config({}, { image: true, image_delay: Duration.minutes(10) }), Effect.gen(function*() {
        const d = yield* Driver
        const t = makeNomadTask({ name: "before-restart" })
        yield* d.startTask(t, cfg({ image: ref, command: "/bin/true", auth: creds }))
        yield* d.waitTask(t.id)
        yield* d.destroyTask(t.id, true)
      }))
      // the plugin went before image_delay: the image is still there, marked
      expect(yield* Effect.promise(() => imageNames(sandbox.socket, id))).toContain(`${GC_MARKER_REPO}:${id}`)
      yield* withDriver(config({}, { image: true, image_delay: Duration.seconds(1) }), Effect.gen(function*() {
        yield* Driver
        yield* eventually(Effect.gen(function*() {
          expect(yield* Effect.promise(() => imageNames(sandbox.socket, id))).toBeUndefined()
        }), { timeout: "60 seconds", interval: "250 millis" })
      }))
    }), 120_000)
})

describe("pull activity timeout", () => {
  it.live("a pull stalled mid-layer fails after pull_activity_timeout with reason timeout; Podman abandons it and nothing is left", () =>
    Effect.gen(function*() {
      // an image with one 6 MB layer of noise, only in the registry
      const name = `stall-${randomUUID().slice(0, 8)}`
      const local = `localhost/${name}:latest`
      yield* Effect.promise(() => importNoise(sandbox, local, 6_000_000))
      yield* Effect.promise(() => pushImage(sandbox.socket, local, `${sandbox.registry}/test/${name}:latest`, creds))
      yield* Effect.promise(() => removeImage(sandbox.socket, local))
      const ref = `127.0.0.1:${proxy.port}/test/${name}:latest`
      proxy.stallAfter(1_000_000)
      const exit = yield* withDriver(config({ pull_activity_timeout: Duration.seconds(3) }), Effect.gen(function*() {
        const d = yield* Driver
        return yield* Effect.exit(d.startTask(makeNomadTask({ name: "stalled" }), cfg({ image: ref, command: "/bin/true", auth: creds })))
      }))
      expect(Exit.isFailure(exit)).toBe(true)
      const error = JSON.stringify(exit)
      expect(error).toContain("\"_tag\":\"ImagePullError\"")
      expect(error).toContain("\"reason\":\"timeout\"")
      expect(error).toContain("pull_activity_timeout")
      // Podman let go of the stalled download, and kept nothing of it
      yield* eventually(Effect.sync(() => expect(proxy.closedWhileStalled()).toBeGreaterThan(0)), { timeout: "30 seconds", interval: "100 millis" })
      yield* eventually(Effect.sync(() => expect(fs.readdirSync(path.join(sandbox.dir, "imgtmp"))).toEqual([])), { timeout: "30 seconds", interval: "100 millis" })
      expect((yield* api("GET", `/images/${encodeURIComponent(ref)}/exists`)).status).toBe(404)
      proxy.stallAfter(undefined)
    }), 120_000)
})

/** Imports an image of one layer holding `bytes` of random data. */
const importNoise = async (box: PrivateSandbox, reference: string, bytes: number) => {
  const dir = fs.mkdtempSync("/tmp/ndp-noise-")
  try {
    fs.writeFileSync(path.join(dir, "noise"), randomBytes(bytes))
    const tar = execFileSync("tar", ["-cf", "-", "-C", dir, "noise"], { maxBuffer: 64 * 1024 * 1024 })
    const r = await podmanRaw(box.socket, "POST", `/v4.0.0/libpod/images/import?reference=${encodeURIComponent(reference)}&changes=${encodeURIComponent('CMD=["/noise"]')}`, tar, { "Content-Type": "application/x-tar" })
    if (r.status !== 200) throw new Error(`import failed: ${r.status} ${r.text}`)
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
}

interface StallingProxy {
  readonly port: number
  /** Stop forwarding a connection's answers after this many bytes (undefined: forward everything). */
  readonly stallAfter: (bytes: number | undefined) => void
  /** Connections the client closed after they had stalled. */
  readonly closedWhileStalled: () => number
  readonly close: () => Promise<void>
}

/** A TCP proxy in front of the registry that can stop forwarding mid-answer (a stalled download). */
const stallingProxy = (port: number, target: number): Promise<StallingProxy> =>
  new Promise((resolve, reject) => {
    let limit: number | undefined
    let closedStalled = 0
    const sockets = new Set<net.Socket>()
    const server = net.createServer((client) => {
      const upstream = net.connect(target, "127.0.0.1")
      sockets.add(client)
      sockets.add(upstream)
      let sent = 0
      let stalled = false
      client.pipe(upstream)
      upstream.on("data", (chunk: Buffer) => {
        if (stalled) return
        if (limit !== undefined && sent + chunk.length > limit) {
          stalled = true
          client.write(chunk.subarray(0, Math.max(0, limit - sent)))
          return
        }
        sent += chunk.length
        client.write(chunk)
      })
      upstream.on("end", () => {
        if (!stalled) client.end()
      })
      client.on("close", () => {
        if (stalled) closedStalled++
        upstream.destroy()
      })
      client.on("error", () => upstream.destroy())
      upstream.on("error", () => client.destroy())
      upstream.on("close", () => sockets.delete(upstream))
      client.on("close", () => sockets.delete(client))
    })
    server.once("error", reject)
    server.listen(port, "127.0.0.1", () =>
      resolve({
        port,
        stallAfter: (bytes) => void (limit = bytes),
        closedWhileStalled: () => closedStalled,
        close: () =>
          new Promise<void>((done) => {
            for (const s of sockets) s.destroy()
            server.close(() => done())
          })
      }))
  })
