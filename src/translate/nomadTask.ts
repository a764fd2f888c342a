/**
 * Checks of what Nomad hands over with the task (the `NomadTask`): its env, user, paths, names and
 * mounts are not part of the config block, so the decoder never saw them, yet they reach Podman
 * and the kernel just the same. Refused here, before Podman (src/domain/limits.ts says why):
 *
 * - a NUL byte anywhere, and any text longer than 64 KiB (names and ids: 1 KiB);
 * - an env key that is empty or contains `=`; a `KEY=value` longer than MAX_ARG_STRLEN;
 * - arguments plus environment over 1 MiB together;
 * - `alloc_dir`, the log FIFO paths, mount and device paths that are not absolute (or longer than
 *   PATH_MAX); a mount's propagation or SELinux label Podman does not know;
 * - a task name and allocation id that do not make a valid container name;
 * - reserved cores that are not a cpuset list.
 *
 * Field paths start with `task.` (`task.env.PATH`, `task.mounts[0].task_path`).
 */
import * as path from "node:path"
import {
  fieldKey, MAX_ARG_STRLEN, MAX_EXEC_BYTES, MAX_NAME_BYTES, MAX_PATH_BYTES, MAX_VALUE_BYTES, textProblem, utf8Length
} from "../domain/limits.ts"
import type { NomadTask } from "../domain/NomadTask.ts"
import { quote } from "../domain/values/text.ts"
import type { Issues, TranslateInput } from "./types.ts"
import { containerName } from "./types.ts"

const posix = path.posix

/** Podman's container name syntax. */
const CONTAINER_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/

/** Every string of the task (but the env, checked below) within bounds: no NUL, at most `max` bytes. */
const walkStrings = (value: unknown, field: string, issues: Issues, max: number): void => {
  if (typeof value === "string") {
    const problem = textProblem(value, max)
    if (problem !== undefined) issues.push({ field, reason: problem })
  } else if (Array.isArray(value)) {
    value.forEach((v, i) => walkStrings(v, `${field}[${i}]`, issues, max))
  } else if (value !== null && typeof value === "object") {
    for (const [k, v] of Object.entries(value)) {
      const problem = textProblem(k, MAX_NAME_BYTES)
      if (problem !== undefined) issues.push({ field: `${field}.${fieldKey(k)}`, reason: `the key ${problem}` })
      walkStrings(v, `${field}.${fieldKey(k)}`, issues, max)
    }
  }
}

const NAMES = ["id", "name", "allocId", "jobName", "jobId", "taskGroupName", "namespace", "nodeName", "nodeId", "parentJobId", "user"] as const

const snake = (k: string): string => k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)

/** A path Nomad gives that must be absolute (empty allowed where `optional`). */
const checkPath = (p: string, field: string, issues: Issues, optional: boolean): void => {
  if (p === "" && optional) return
  if (!posix.isAbsolute(p)) issues.push({ field, reason: `must be an absolute path, got ${quote(p)}` })
  else if (p.length * 3 > MAX_PATH_BYTES && utf8Length(p) > MAX_PATH_BYTES) {
    issues.push({ field, reason: `is longer than PATH_MAX (${MAX_PATH_BYTES} bytes)` })
  }
}

const envIssues = (env: Readonly<Record<string, string>>, issues: Issues): number => {
  let bytes = 0
  for (const [key, value] of Object.entries(env)) {
    const field = `task.env.${fieldKey(key)}`
    if (key === "") issues.push({ field, reason: "an environment variable needs a name" })
    else if (key.includes("=")) issues.push({ field, reason: `the name ${quote(key)} contains "="` })
    const keyProblem = textProblem(key, MAX_NAME_BYTES)
    if (keyProblem !== undefined) issues.push({ field, reason: `the name ${keyProblem}` })
    if (value.includes("\0")) issues.push({ field, reason: `the value contains a NUL byte (${quote(value)})` })
    const size = utf8Length(key) + 1 + utf8Length(value)
    if (size > MAX_ARG_STRLEN) {
      issues.push({ field, reason: `${key.slice(0, 64)}=… is ${size} bytes; the kernel takes at most ${MAX_ARG_STRLEN} per variable` })
    }
    bytes += size + 1
  }
  return bytes
}

/** Checks the Nomad task; pushes every problem to `issues`. */
export const nomadTaskIssues = (input: TranslateInput, issues: Issues): void => {
  const task: NomadTask = input.task
  for (const k of NAMES) walkStrings(task[k], `task.${snake(k)}`, issues, MAX_NAME_BYTES)
  const name = containerName(task)
  if (task.name !== "" && !CONTAINER_NAME.test(name)) {
    issues.push({
      field: "task.name",
      reason: `${quote(name)} is not a valid container name (letters, digits, "_", "." and "-", starting with a letter or digit)`
    })
  }
  walkStrings(task.deviceEnv, "task.device_env", issues, MAX_VALUE_BYTES)
  walkStrings(task.resources, "task.resources", issues, MAX_NAME_BYTES)
  walkStrings(task.networkIsolation, "task.network_isolation", issues, MAX_VALUE_BYTES)
  walkStrings(task.dns, "task.dns", issues, MAX_NAME_BYTES)
  walkStrings(task.mounts, "task.mounts", issues, MAX_PATH_BYTES)
  walkStrings(task.devices, "task.devices", issues, MAX_PATH_BYTES)
  walkStrings(task.allocDir, "task.alloc_dir", issues, MAX_PATH_BYTES)
  walkStrings(task.stdoutPath, "task.stdout_path", issues, MAX_PATH_BYTES)
  walkStrings(task.stderrPath, "task.stderr_path", issues, MAX_PATH_BYTES)

  checkPath(task.allocDir, "task.alloc_dir", issues, true)
  checkPath(task.stdoutPath, "task.stdout_path", issues, true)
  checkPath(task.stderrPath, "task.stderr_path", issues, true)
  task.mounts.forEach((m, i) => {
    checkPath(m.taskPath, `task.mounts[${i}].task_path`, issues, false)
    checkPath(m.hostPath, `task.mounts[${i}].host_path`, issues, false)
    if (!["", "private", "host-to-task", "bidirectional"].includes(m.propagationMode)) {
      issues.push({ field: `task.mounts[${i}].propagation_mode`, reason: `unknown propagation mode ${quote(m.propagationMode)}` })
    }
    if (!["", "z", "Z"].includes(m.selinuxLabel)) {
      issues.push({ field: `task.mounts[${i}].selinux_label`, reason: `expected "z", "Z" or nothing, got ${quote(m.selinuxLabel)}` })
    }
  })
  task.devices.forEach((d, i) => {
    checkPath(d.hostPath, `task.devices[${i}].host_path`, issues, false)
    checkPath(d.taskPath, `task.devices[${i}].task_path`, issues, true)
    if (!/^[rwm]{0,3}$/.test(d.cgroupPermissions)) {
      issues.push({ field: `task.devices[${i}].cgroup_permissions`, reason: `expected a combination of r, w and m, got ${quote(d.cgroupPermissions)}` })
    }
  })
  const cpuset = task.resources.cpusetCpus
  if (cpuset !== "" && !/^\d{1,5}(-\d{1,5})?(,\d{1,5}(-\d{1,5})?)*$/.test(cpuset)) {
    issues.push({ field: "task.resources.cpuset_cpus", reason: `expected a list of cores such as 0-3,8, got ${quote(cpuset)}` })
  }

  // the process's arguments and environment: what exec(2) takes together
  const envBytes = envIssues(task.env, issues)
  const { config } = input
  const argv = [...(config.entrypoint ?? []), ...(config.command !== undefined ? [config.command] : []), ...config.args]
  const argBytes = argv.reduce((n, a) => n + utf8Length(a) + 1, 0)
  if (envBytes + argBytes > MAX_EXEC_BYTES) {
    issues.push({
      field: "task.env",
      reason: `the environment (${envBytes} bytes) and the arguments (${argBytes} bytes) exceed ${MAX_EXEC_BYTES} bytes together`
    })
  }
}
