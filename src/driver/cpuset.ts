/**
 * Nomad's shared cores. Since Nomad 1.7 a task that reserves no cores (`resources.cores`) must run
 * on the node's shared cores only, which change as other tasks reserve and release cores. Nomad
 * prepares a cpuset cgroup per task and passes its path (`cpuset_cgroup`); the docker driver
 * confines the container to that cgroup's effective CPUs and copies them again every few seconds.
 * This driver does the same when Podman runs on this host: the container is created with the
 * shared CPUs, and a watcher in the task's `fibers` scope writes the new set into the container's
 * own cpuset cgroup when Nomad's changes (docs/podman.md, "Shared cores").
 */
import { Duration, Effect, Option } from "effect"
import type { NomadTask } from "../domain/NomadTask.ts"
import { HostFiles } from "../services/HostFiles.ts"
import type { ContainerInspect, PodmanClient } from "../services/Podman.ts"

/** How often the shared cores are copied again (the docker driver's period). */
export const CPUSET_SYNC_PERIOD = Duration.seconds(3)

const root = "/sys/fs/cgroup"

/** The task's cpuset cgroup directory, absolute (Nomad passes it absolute; older forms relative to the root). */
const sourceDir = (path: string) => (path.startsWith(`${root}/`) ? path : `${root}/${path.replace(/^\/+/, "")}`)

/** Effective CPUs of a cpuset cgroup: v2 `cpuset.cpus.effective`, v1 `cpuset.effective_cpus`, else `cpuset.cpus`. */
const effectiveCpus = (dir: string) =>
  Effect.gen(function*() {
    const files = yield* HostFiles
    for (const name of ["cpuset.cpus.effective", "cpuset.effective_cpus", "cpuset.cpus"]) {
      const text = yield* files.readText(`${dir}/${name}`).pipe(Effect.option)
      if (Option.isSome(text) && text.value.trim() !== "") return Option.some(text.value.trim())
    }
    return Option.none<string>()
  })

/** Whether the shared cores apply: no reserved cores, a cgroup from Nomad, and Podman on this host. */
const applies = (client: PodmanClient, task: NomadTask): task is NomadTask & { readonly resources: { readonly cpusetCgroup: string } } =>
  client.local && task.resources.cpusetCpus === "" && (task.resources.cpusetCgroup ?? "") !== ""

/** The shared CPUs a new container of `task` is confined to, when known. Never fails. */
export const sharedCpus = (client: PodmanClient, task: NomadTask): Effect.Effect<string | undefined, never, HostFiles> =>
  applies(client, task)
    ? effectiveCpus(sourceDir(task.resources.cpusetCgroup)).pipe(Effect.map(Option.getOrUndefined))
    : Effect.succeed(undefined)

/**
 * Keeps the container's cpuset equal to Nomad's shared cores while the task runs: every
 * {@link CPUSET_SYNC_PERIOD}, a changed set is written into the container's cgroup (v2, else the v1
 * cpuset hierarchy). Runs until interrupted (the task's `fibers` scope); failures are logged once.
 */
export const keepCpusetInStep = (
  client: PodmanClient,
  task: NomadTask,
  inspect: ContainerInspect,
  initial: string | undefined
): Effect.Effect<void, never, HostFiles> =>
  Effect.gen(function*() {
    if (!applies(client, task) || inspect.cgroupPath === undefined) return
    const files = yield* HostFiles
    const source = sourceDir(task.resources.cpusetCgroup)
    const targets = [`${root}${inspect.cgroupPath}/cpuset.cpus`, `${root}/cpuset${inspect.cgroupPath}/cpuset.cpus`]
    let current = initial
    let warned = false
    const write = (cpus: string) =>
      Effect.gen(function*() {
        for (const target of targets) {
          const ok = yield* files.writeText(target, cpus).pipe(Effect.as(true), Effect.catch(() => Effect.succeed(false)))
          if (ok) return true
        }
        return false
      })
    while (true) {
      yield* Effect.sleep(CPUSET_SYNC_PERIOD)
      const cpus = yield* effectiveCpus(source)
      if (Option.isNone(cpus) || cpus.value === current) continue
      if (yield* write(cpus.value)) {
        yield* Effect.logDebug(`task ${task.id}: shared cores now ${cpus.value}`)
        current = cpus.value
      } else if (!warned) {
        warned = true
        yield* Effect.logWarning(`task ${task.id}: cannot update the container's cpuset to Nomad's shared cores ${cpus.value}`)
      }
    }
  })
