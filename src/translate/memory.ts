/**
 * Memory limits: Nomad's `memory` / `memory_max` plus the task's `memory_reservation`,
 * `memory_swap` and `memory_swappiness`, as libpod `resource_limits.memory`.
 *
 * - plain: limit = memory; reservation only when `memory_reservation` is set;
 * - `memory_max > 0` (oversubscription): limit = memory_max; reservation = memory, or
 *   `memory_reservation` when it is lower;
 * - `memory_max = -1`: no hard limit; reservation = memory (or the lower `memory_reservation`);
 * - `memory_swap` (`-1` = unlimited) and `memory_swappiness` only when set (swappiness only on
 *   cgroup v1, where the kernel has it).
 */
import type { ResourceLimitsSpec } from "../domain/ContainerSpec.ts"
import type { TranslateInput } from "./types.ts"

const MiB = 1024 * 1024

type MemorySpec = NonNullable<ResourceLimitsSpec["memory"]>

/** The memory part of `resource_limits`, or `undefined` when nothing is limited. */
export const memoryLimits = (input: TranslateInput): MemorySpec | undefined => {
  const { config, task, podman } = input
  const memory = Math.max(0, task.resources.memoryMb) * MiB
  const memoryMax = task.resources.memoryMaxMb
  const reservation = config.memory_reservation

  let limit: number | undefined
  let soft: number | undefined
  if (memoryMax === -1 || memoryMax > 0) {
    limit = memoryMax > 0 ? memoryMax * MiB : undefined
    soft = reservation !== undefined && (reservation < memory || memory === 0) ? reservation : memory > 0 ? memory : undefined
  } else {
    limit = memory > 0 ? memory : undefined
    soft = reservation
  }

  // libpod's "unlimited" is -1
  const swap = config.memory_swap === undefined ? undefined : config.memory_swap._tag === "unlimited" ? -1 : config.memory_swap.bytes

  const swappiness = config.memory_swappiness !== undefined && podman.cgroupVersion !== "v2"
    ? config.memory_swappiness
    : undefined

  const out: { limit?: number; reservation?: number; swap?: number; swappiness?: number } = {}
  if (limit !== undefined) out.limit = limit
  if (soft !== undefined) out.reservation = soft
  if (swap !== undefined) out.swap = swap
  if (swappiness !== undefined) out.swappiness = swappiness
  return Object.keys(out).length === 0 ? undefined : out
}
