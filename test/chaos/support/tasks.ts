/**
 * Tasks as Nomad hands them to the driver: the wire TaskConfig with an allocation directory laid
 * out as the Nomad client's MkAllocDir does, the task's env, resources, and its config as cty
 * MessagePack. A config Nomad itself would refuse (a wrong type, an unknown option) is encoded
 * raw, as a broken or hostile client could send it.
 */
import * as path from "node:path"
import { taskConfigSpec } from "../../../src/domain/TaskConfig.ts"
import { TaskConfig } from "../../../proto/gen/plugins/drivers/proto/driver.ts"
import { ctyEncode } from "../../support/nomad/ctyEncode.ts"
import { decodeLikeNomad } from "../../support/nomad/hcldec.ts"
import { makeAllocDirs, wireTaskConfig } from "../../support/nomad/wireTask.ts"

/** Every chaos allocation id starts with this, so its containers can be told from any other's. */
export const CHAOS_ALLOC_PREFIX = "c4a05"

let seq = 0

/** A fresh allocation id (`c4a05…`, UUID-shaped). */
export const chaosAllocId = (): string => {
  const hex = (++seq).toString(16).padStart(7, "0") + globalThis.crypto.randomUUID().replace(/-/g, "").slice(0, 20)
  const s = CHAOS_ALLOC_PREFIX + hex
  return `${s.slice(0, 8)}-${s.slice(8, 12)}-${s.slice(12, 16)}-${s.slice(16, 20)}-${s.slice(20, 32)}`
}

/** The cty msgpack Nomad would send for `config`; raw msgpack when Nomad would refuse it. */
export const encodeConfig = (config: unknown): Uint8Array => {
  try {
    return ctyEncode(decodeLikeNomad(taskConfigSpec, config as Record<string, unknown>))
  } catch {
    return ctyEncode(config)
  }
}

/** The layout the Nomad client makes for a task, in `<root>/<allocId>`. */
export const makeAllocDir = (root: string, allocId: string, task: string): string => {
  const dir = path.join(root, allocId)
  makeAllocDirs(dir, task)
  return dir
}

export interface TaskOptions {
  readonly name?: string
  readonly allocId?: string
  readonly config: unknown
  /** Wire fields to override (env, user, mounts, resources, …). */
  readonly wire?: Partial<TaskConfig>
}

/** A wire task with a fresh id (`<alloc>/<task>/<8 hex>`), as Nomad makes one per attempt. */
export const wireTask = (root: string, o: TaskOptions): TaskConfig => {
  const name = o.name ?? "chaos"
  const allocId = o.allocId ?? chaosAllocId()
  const allocDir = makeAllocDir(root, allocId, name)
  return TaskConfig.fromPartial({
    ...wireTaskConfig({
      id: `${allocId}/${name}/${globalThis.crypto.randomUUID().slice(0, 8)}`,
      name,
      allocId,
      allocDir,
      msgpackDriverConfig: encodeConfig(o.config),
      job: "chaos",
      group: "chaos",
      stdoutPath: "/dev/null",
      stderrPath: "/dev/null"
    }),
    ...o.wire
  })
}

/** The allocation id a container name (`<task>.<alloc id>`) ends with, when it is a chaos one. */
export const chaosAllocOf = (containerName: string): string | undefined => {
  const m = /\.([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/.exec(containerName.replace(/^\//, ""))
  return m !== null && m[1]!.startsWith(CHAOS_ALLOC_PREFIX) ? m[1] : undefined
}
