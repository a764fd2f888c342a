/**
 * StartTask checks the whole task before it pulls the image: a config only the task can refuse
 * (here a relative volume for a task without a task directory) fails with InvalidTaskConfig and
 * Podman pulls nothing. The image exists only in the sandbox registry (pushed under a fresh name,
 * local copy removed), so a pull would show both as a Podman `pull` event and as the image being
 * present afterwards; a good config with the same image proves the test sees a pull when one happens.
 */
import * as http from "node:http"
import { randomUUID } from "node:crypto"
import { Effect, Layer, ManagedRuntime } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as ConfigLayers from "../../layers/config/index.ts"
import * as LogSinks from "../../layers/log-sink/index.ts"
import { makeNomadTask } from "../../src/domain/NomadTask.ts"
import { defaultPluginConfig } from "../../src/domain/PluginConfig.ts"
import { decodeTaskConfig, type TaskConfigInput } from "../../src/domain/TaskConfig.ts"
import { driverLayer } from "../../layers/stacks.ts"
import { Driver } from "../../src/services/Driver.ts"
import { libpod, podmanSocketPath } from "../support/libpod.ts"

const registry = process.env.SANDBOX_REGISTRY!
const user = process.env.SANDBOX_REGISTRY_USER ?? "testuser"
const password = process.env.SANDBOX_REGISTRY_PASSWORD ?? "testpass"
const image = `${registry}/test/only-remote-${randomUUID().slice(0, 8)}:latest`
const auth = { username: user, password, tls_verify: false }

const rt = ManagedRuntime.make(
  driverLayer.pipe(
    Layer.provideMerge(
      Layer.mergeAll(
        ConfigLayers.layerStatic({ ...defaultPluginConfig, socket_path: process.env.PODMAN_SOCKET! }),
        LogSinks.layerMemory
      )
    )
  )
)
const started: Array<string> = []

/** A libpod POST with the registry credentials header (the shared helper sends no headers). */
const pushWithAuth = (path: string) =>
  new Promise<number>((resolve, reject) => {
    const header = Buffer.from(JSON.stringify({ username: user, password })).toString("base64url")
    const req = http.request({ socketPath: podmanSocketPath(), host: "d", method: "POST", path, headers: { "X-Registry-Auth": header } }, (res) => {
      res.resume()
      res.on("end", () => resolve(res.statusCode ?? 0))
    })
    req.on("error", reject)
    req.end()
  })

const imageExists = async () => (await libpod("GET", `/v4.0.0/libpod/images/${encodeURIComponent(image)}/exists`)).status === 204

/** Podman's `pull` image events for our image since `since` (seconds). */
const pullsSince = async (since: number) => {
  const filters = encodeURIComponent(JSON.stringify({ type: ["image"], event: ["pull"] }))
  const r = await libpod("GET", `/v4.0.0/libpod/events?stream=false&since=${since}&filters=${filters}`)
  return r.text.split("\n").filter((l) => l.includes(image)).length
}

const start = (name: string, input: TaskConfigInput, allocDir = "") =>
  rt.runPromiseExit(
    Effect.gen(function*() {
      const task = makeNomadTask({ name, allocDir })
      started.push(task.id)
      const config = yield* decodeTaskConfig(input)
      return yield* Driver.use((d) => d.startTask(task, config))
    })
  )

beforeAll(async () => {
  const [repo, tag] = [image.slice(0, image.lastIndexOf(":")), "latest"]
  const tagged = await libpod("POST", `/v4.0.0/libpod/images/localhost/busybox:latest/tag?repo=${encodeURIComponent(repo)}&tag=${tag}`)
  expect(tagged.status, tagged.text).toBe(201)
  const pushed = await pushWithAuth(`/v4.0.0/libpod/images/${encodeURIComponent(image)}/push?destination=${encodeURIComponent(image)}&tlsVerify=false`)
  expect(pushed).toBe(200)
  const removed = await libpod("DELETE", `/v4.0.0/libpod/images/${encodeURIComponent(image)}`)
  expect(removed.status, removed.text).toBe(200)
  expect(await imageExists()).toBe(false)
})

afterAll(async () => {
  for (const id of started) await rt.runPromise(Driver.use((d) => d.destroyTask(id, true))).catch(() => undefined)
  await rt.dispose()
  await libpod("DELETE", `/v4.0.0/libpod/images/${encodeURIComponent(image)}?force=true`)
})

describe("StartTask checks the task before the pull", () => {
  it("a relative volume without a task directory fails before any pull", async () => {
    const since = Math.floor(Date.now() / 1000) - 1
    const exit = await start("rel-volume", { image, auth, command: "/bin/true", volumes: ["data:/data"] })
    expect(exit._tag).toBe("Failure")
    const error = exit._tag === "Failure" ? (exit.cause.reasons[0] as { error?: { _tag: string; issues: unknown } }).error : undefined
    expect(error?._tag).toBe("InvalidTaskConfig")
    expect(error?.issues).toEqual([{ field: "volumes[0]", reason: expect.stringContaining("needs a task directory") }])
    expect(await imageExists()).toBe(false)
    expect(await pullsSince(since)).toBe(0)
  })

  it("the same image with a good config is pulled (so the checks above would see a pull)", async () => {
    const since = Math.floor(Date.now() / 1000) - 1
    const exit = await start("good", { image, auth, command: "/bin/true" })
    expect(exit._tag).toBe("Success")
    expect(await imageExists()).toBe(true)
    await expect.poll(() => pullsSince(since), { timeout: 5_000 }).toBe(1)
  })
})
