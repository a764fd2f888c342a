/**
 * Against the shared sandbox Podman: the operator's guard rails (allow_privileged, allow_caps,
 * allow_runtimes and the task's `runtime`), a `network_mode` naming a missing network, pulls that
 * leave TLS to registries.conf (and report layer progress), image health checks (an image with a
 * failing HEALTHCHECK built here; Podman has no systemd here, so the driver runs the checks), and
 * a start whose name is held by a storage-only container left by an interrupted create.
 *
 * What would disturb other files (a reaper, image GC, stopping the Podman service) is in
 * NodeHygiene.test.ts, on a private sandbox.
 */
import { spawn } from "node:child_process"
import { randomUUID } from "node:crypto"
import * as fs from "node:fs"
import { expect, layer } from "@effect/vitest"
import { Effect, Fiber, Queue, Stream } from "effect"
import { makeNomadTask } from "../../src/domain/NomadTask.ts"
import { defaultPluginConfig } from "../../src/domain/PluginConfig.ts"
import type { TaskEvent } from "../../src/domain/results.ts"
import { guestConfig } from "../../layers/stacks.ts"
import { Driver } from "../../src/services/Driver.ts"
import { cfg, libpod, ready, startFailure, trackedTasks, withDriver } from "../support/driver.ts"
import { eventually } from "../support/eventually.ts"
import { buildImage, remoteOnlyImage, removeImage } from "../support/images.ts"
import { libpod as libpodRaw } from "../support/libpod.ts"

const busybox = "localhost/busybox:latest"
const SOCKET = process.env.PODMAN_SOCKET!
const registry = process.env.SANDBOX_REGISTRY!
const creds = { username: process.env.SANDBOX_REGISTRY_USER ?? "testuser", password: process.env.SANDBOX_REGISTRY_PASSWORD ?? "testpass" }
const tasks = trackedTasks()
const task = tasks.task

/** The first typed issue fields of a failed start. */
const issueFields = (e: unknown) => ((e as { issues?: Array<{ field: string }> }).issues ?? []).map((i) => i.field)

layer(tasks.layer, { excludeTestServices: true, timeout: "180 seconds" })("guard rails and drop-in details against real Podman", (it) => {
  it.effect("the default plugin config refuses privileged, SYS_ADMIN and a runtime Podman does not default to, each naming the plugin setting", () =>
    Effect.gen(function*() {
      const privileged = yield* startFailure(task("priv"), { image: busybox, command: "/bin/true", privileged: true })
      expect(privileged._tag).toBe("InvalidTaskConfig")
      expect(issueFields(privileged)).toEqual(["privileged"])
      expect(JSON.stringify(privileged)).toContain("allow_privileged")
      const caps = yield* startFailure(task("caps"), { image: busybox, command: "/bin/true", cap_add: ["SYS_ADMIN"] })
      expect(issueFields(caps)).toEqual(["cap_add"])
      expect(JSON.stringify(caps)).toContain("allow_caps")
      const runtime = yield* startFailure(task("rt"), { image: busybox, command: "/bin/true", runtime: "crun" })
      expect(issueFields(runtime)).toEqual(["runtime"])
      expect(JSON.stringify(runtime)).toContain("allow_runtimes")
      // nothing was created for any of them
      const left = yield* libpod(`/containers/json?all=true&filters=${encodeURIComponent(JSON.stringify({ name: ["priv.", "caps.", "rt."] }))}`)
      expect((left.body as Array<{ Names: Array<string> }>).filter((c) => c.Names.some((n) => /^(priv|caps|rt)\./.test(n)))).toEqual([])
    }))

  it.effect("allowed by the plugin config: privileged, SYS_ADMIN and the runtime start; the runtime reaches Podman", () =>
    withDriver({ ...guestConfig(defaultPluginConfig), socket_path: SOCKET, allow_privileged: true, allow_caps: ["all"], allow_runtimes: ["runc"] }, Effect.gen(function*() {
      const d = yield* Driver
      const t = makeNomadTask({ name: "allowed" })
      const s = yield* d.startTask(t, cfg({ image: busybox, command: "/bin/sh", args: ["-c", "grep CapEff /proc/self/status"], privileged: true, cap_add: ["SYS_ADMIN"], runtime: "runc" }))
      expect((yield* d.waitTask(t.id)).exitCode).toBe(0)
      const inspect = yield* libpod(`/containers/${s.state.containerId}/json`)
      expect(inspect.body.HostConfig.Privileged).toBe(true)
      expect(inspect.body.OCIRuntime).toBe("runc")
      yield* d.destroyTask(t.id, true)
    })))

  it.effect("allow_caps narrower than Podman's defaults drops the rest from the container", () =>
    withDriver({ ...guestConfig(defaultPluginConfig), socket_path: SOCKET, allow_caps: ["chown", "kill"] }, Effect.gen(function*() {
      const d = yield* Driver
      const t = makeNomadTask({ name: "narrow" })
      const s = yield* d.startTask(t, cfg({ image: busybox, command: "/bin/true" }))
      yield* d.waitTask(t.id)
      const inspect = yield* libpod(`/containers/${s.state.containerId}/json`)
      const effective: Array<string> = inspect.body.EffectiveCaps ?? []
      expect(effective.sort()).toEqual(["CAP_CHOWN", "CAP_KILL"])
      yield* d.destroyTask(t.id, true)
    })))

  it.effect("a network_mode naming a Podman network that does not exist is an InvalidTaskConfig on network_mode", () =>
    Effect.gen(function*() {
      const e = yield* startFailure(task("nonet"), { image: busybox, command: "/bin/true", network_mode: `nosuchnet${randomUUID().slice(0, 6)}` })
      expect(e._tag).toBe("InvalidTaskConfig")
      expect(issueFields(e)).toEqual(["network_mode"])
      expect(JSON.stringify(e)).toContain("has no network")
    }))

  it.effect("without tls_verify the registry's insecure entry in registries.conf applies (as podman pull); tls_verify = true is sent and refused; progress events count layers", () =>
    Effect.gen(function*() {
      const d = yield* Driver
      const name = `tls-${randomUUID().slice(0, 8)}`
      const { ref } = yield* Effect.promise(() => remoteOnlyImage(SOCKET, registry, creds, name))
      const events = yield* Queue.unbounded<TaskEvent>()
      const collector = yield* Effect.forkChild(Stream.runForEach(d.taskEvents, (e) => Queue.offer(events, e)))
      const strict = yield* startFailure(task("tlsstrict"), { image: ref, command: "/bin/true", auth: { ...creds, tls_verify: true } })
      expect(strict).toMatchObject({ _tag: "ImagePullError", reason: "tls" })
      const t = task("tlsdefault")
      yield* d.startTask(t, cfg({ image: ref, command: "/bin/true", auth: creds }))
      expect((yield* d.waitTask(t.id)).exitCode).toBe(0)
      const mine = (yield* Queue.takeAll(events)).filter((e) => e.taskId === t.id).map((e) => e.message)
      expect(mine[0]).toBe(`Pulling image ${ref}`)
      expect(mine.some((m) => /: layers \d+\/\d+/.test(m))).toBe(true)
      expect(mine.at(-1)).toBe(`Pulled image ${ref}`)
      yield* Fiber.interrupt(collector)
      yield* d.destroyTask(t.id, true)
      yield* Effect.promise(() => removeImage(SOCKET, ref, true))
    }))

  it.effect("an image's failing HEALTHCHECK: starting → healthy → unhealthy as task events, the status in InspectTask; disable turns it off", () =>
    Effect.gen(function*() {
      const d = yield* Driver
      const image = `localhost/hc-${randomUUID().slice(0, 8)}:latest`
      yield* Effect.promise(() => buildImage(SOCKET, image, "FROM localhost/busybox:latest\nHEALTHCHECK --interval=1s --timeout=10s --retries=1 CMD test -f /tmp/ok\n"))
      const events = yield* Queue.unbounded<TaskEvent>()
      const collector = yield* Effect.forkChild(Stream.runForEach(d.taskEvents, (e) => Queue.offer(events, e)))
      const t = task("health")
      // healthy while /tmp/ok exists; the test removes it once healthy was reported
      yield* d.startTask(t, cfg({ image, command: "/bin/sh", args: ["-c", "touch /tmp/ok; echo ready; sleep 300"] }))
      yield* ready(t.id)
      const seen: Array<string> = []
      const healthOf = (status: string) =>
        eventually(Effect.gen(function*() {
          for (const e of yield* Queue.takeAll(events)) if (e.taskId === t.id && e.annotations["health"]) seen.push(e.annotations["health"])
          expect(seen).toContain(status)
        }), { timeout: "60 seconds", interval: "200 millis" })
      yield* healthOf("healthy")
      expect(seen[0]).toBe("starting")
      expect((yield* d.inspectTask(t.id)).driverAttributes["health"]).toBe("healthy")
      expect((yield* d.execTask(t.id, ["rm", "/tmp/ok"])).exitCode).toBe(0)
      yield* healthOf("unhealthy")
      expect(seen.lastIndexOf("unhealthy")).toBeGreaterThan(seen.indexOf("healthy"))
      expect((yield* d.inspectTask(t.id)).driverAttributes["health"]).toBe("unhealthy")
      yield* d.destroyTask(t.id, true)

      const off = task("healthoff")
      const s = yield* d.startTask(off, cfg({ image, command: "/bin/sh", args: ["-c", "echo ready; sleep 300"], healthchecks: { disable: true } }))
      yield* ready(off.id)
      const inspect = yield* libpod(`/containers/${s.state.containerId}/json`)
      expect(inspect.body.Config.Healthcheck?.Test ?? ["NONE"]).toEqual(["NONE"])
      expect((yield* d.inspectTask(off.id)).driverAttributes["health"]).toBeUndefined()
      yield* Fiber.interrupt(collector)
      yield* d.destroyTask(off.id, true)
      yield* Effect.promise(() => removeImage(SOCKET, image, true))
    }), { timeout: 120_000 })

  it.effect.skipIf(!cpusetV1Writable())("a task without reserved cores runs on Nomad's shared cores, and follows them when they change", () =>
    Effect.gen(function*() {
      const d = yield* Driver
      // a cpuset cgroup standing in for the one Nomad prepares for the task (cgroup v1 here)
      const cg = `/sys/fs/cgroup/cpuset/ndp-shared-${randomUUID().slice(0, 8)}`
      yield* Effect.acquireRelease(
        Effect.sync(() => {
          fs.mkdirSync(cg)
          fs.writeFileSync(`${cg}/cpuset.mems`, fs.readFileSync("/sys/fs/cgroup/cpuset/cpuset.mems"))
          fs.writeFileSync(`${cg}/cpuset.cpus`, "0")
        }),
        () => Effect.sync(() => fs.rmdirSync(cg))
      )
      const t = task("shared", { resources: { cpusetCgroup: cg } })
      const s = yield* d.startTask(t, cfg({ image: busybox, command: "/bin/sleep", args: ["300"] }))
      const inspect = yield* libpod(`/containers/${s.state.containerId}/json`)
      expect(inspect.body.HostConfig.CpusetCpus).toBe("0")
      const own = `/sys/fs/cgroup/cpuset${inspect.body.State.CgroupPath}/cpuset.cpus`
      expect(fs.readFileSync(own, "utf8").trim()).toBe("0")
      // Nomad's shared cores change (a reservation elsewhere ends): the container follows
      fs.writeFileSync(`${cg}/cpuset.cpus`, "1")
      yield* eventually(Effect.sync(() => expect(fs.readFileSync(own, "utf8").trim()).toBe("1")), { timeout: "20 seconds", interval: "200 millis" })
      yield* d.destroyTask(t.id, true)
    }).pipe(Effect.scoped), { timeout: 60_000 })

  it.effect("a start whose name is held by a storage-only container (a create cut short) removes it and starts", () =>
    Effect.gen(function*() {
      const d = yield* Driver
      const t = task("leftover")
      const name = `leftover.${t.allocId}`
      yield* Effect.promise(() => leaveStorageOnlyContainer(name))
      const external = yield* libpod(`/containers/json?all=true&external=true`)
      expect((external.body as Array<{ Names: Array<string>; State: string }>).find((c) => c.Names.includes(name))?.State).toBe("storage")
      expect((yield* libpod(`/containers/${name}/exists`)).status).toBe(404)
      const s = yield* d.startTask(t, cfg({ image: busybox, command: "/bin/sh", args: ["-c", "exit 7"] }))
      expect(s.state.containerName).toBe(name)
      expect((yield* d.waitTask(t.id)).exitCode).toBe(7)
      yield* d.destroyTask(t.id, true)
    }))
})

/** A cgroup v1 cpuset hierarchy this process may create cgroups in, on a machine with 2 CPUs or more. */
function cpusetV1Writable(): boolean {
  try {
    fs.accessSync("/sys/fs/cgroup/cpuset/cpuset.cpus", fs.constants.W_OK)
    return /[,-]/.test(fs.readFileSync("/sys/fs/cgroup/cpuset/cpuset.effective_cpus", "utf8"))
  } catch {
    return false
  }
}

/**
 * Interrupts a `podman create` the moment its storage container appears (SIGKILL on the storage
 * layer's new directory), which leaves a container only the storage layer knows, holding `name`:
 * what a Podman service killed mid-create leaves.
 */
const leaveStorageOnlyContainer = async (name: string) => {
  const D = process.env.SANDBOX_DIR!
  const env = {
    ...process.env,
    CONTAINERS_CONF: `${D}/containers.conf`,
    CONTAINERS_STORAGE_CONF: `${D}/storage.conf`,
    CONTAINERS_REGISTRIES_CONF: `${D}/registries.conf`,
    TMPDIR: `${D}/imgtmp`,
    HOME: `${D}/home`
  }
  const dir = `${D}/root/overlay-containers`
  for (let attempt = 0; attempt < 10; attempt++) {
    const before = new Set(fs.readdirSync(dir))
    const child = spawn("podman", ["create", "--name", name, busybox, "true"], { env, stdio: "ignore" })
    const watcher = fs.watch(dir, (_event, file) => {
      if (file !== null && /^[0-9a-f]{64}$/.test(file) && !before.has(file)) child.kill("SIGKILL")
    })
    await new Promise((resolve) => child.on("exit", resolve))
    watcher.close()
    const known = await libpodStatus(`/v4.0.0/libpod/containers/${name}/exists`)
    if (known === 204) {
      // the create completed before the kill: remove it and try again
      await libpodStatus(`/v4.0.0/libpod/containers/${name}?force=true&timeout=0`, "DELETE")
      continue
    }
    const ext = await libpodJson(`/v4.0.0/libpod/containers/json?all=true&external=true`)
    if ((ext as Array<{ Names: Array<string> }>).some((c) => c.Names.includes(name))) return
  }
  throw new Error(`could not leave a storage-only container named ${name}`)
}

const libpodStatus = async (p: string, method: "GET" | "DELETE" = "GET") => (await libpodRaw(method, p)).status
const libpodJson = async (p: string) => (await libpodRaw("GET", p)).json as unknown
