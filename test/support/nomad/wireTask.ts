/**
 * A task as the Nomad client hands it to a driver: the allocation directory laid out as its
 * MkAllocDir does, and the wire `TaskConfig` (ids, the task's env, 100 CPU shares and 64 MiB, the
 * driver config as cty MessagePack). Shared by the e2e tests, the chaos suite and the bench.
 */
import { mkdirSync } from "node:fs"
import * as path from "node:path"
import { TaskConfig } from "../../../proto/gen/plugins/drivers/proto/driver.ts"

/** The directories the Nomad client makes for `task` in `allocDir` (the driver bind-mounts alloc, local, secrets). */
export const makeAllocDirs = (allocDir: string, task: string): void => {
  for (const d of ["alloc/logs", "alloc/tmp", "alloc/data", `${task}/local`, `${task}/secrets`, `${task}/private`, `${task}/tmp`]) {
    mkdirSync(path.join(allocDir, d), { recursive: true })
  }
}

export interface WireTaskOptions {
  readonly id: string
  readonly name: string
  readonly allocId: string
  readonly allocDir: string
  /** The driver config, already cty MessagePack. */
  readonly msgpackDriverConfig: Uint8Array
  /** jobName and jobId (default "e2e"). */
  readonly job?: string
  readonly group?: string
  readonly stdoutPath?: string
  readonly stderrPath?: string
}

export const wireTaskConfig = (o: WireTaskOptions): TaskConfig =>
  TaskConfig.fromPartial({
    id: o.id,
    name: o.name,
    allocId: o.allocId,
    jobName: o.job ?? "e2e",
    jobId: o.job ?? "e2e",
    taskGroupName: o.group ?? "group",
    namespace: "default",
    msgpackDriverConfig: o.msgpackDriverConfig,
    env: { NOMAD_TASK_NAME: o.name, NOMAD_ALLOC_ID: o.allocId },
    allocDir: o.allocDir,
    stdoutPath: o.stdoutPath ?? "",
    stderrPath: o.stderrPath ?? "",
    resources: {
      allocatedResources: { cpu: { cpuShares: 100n }, memory: { memoryMb: 64n, memoryMaxMb: 0n }, networks: [] },
      linuxResources: { cpuShares: 100n, memoryLimitBytes: 64n * 1048576n },
      ports: []
    }
  })
