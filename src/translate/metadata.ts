/**
 * Identity and process: name, command, entrypoint, env, labels, user, working dir, hostname, tty,
 * init, sysctls, logging and the stop signal/timeout.
 *
 * Labels ALWAYS carry `com.hashicorp.nomad.podman.alloc_id` and
 * `com.hashicorp.nomad.{task_name,task_group_name,job_name,job_id,namespace}` (so the driver can find
 * its containers after a restart and tell them from other tools'), plus `node_name`/`node_id` when a
 * plugin `extra_labels` glob matches them. The driver's labels win over task labels with the same key.
 * The allocation label is NOT the docker driver's `com.hashicorp.nomad.alloc_id`: Nomad's docker
 * driver removes any container with that label that it does not track (docs/podman.md, "Sharing a
 * node with the docker driver").
 *
 * Logging: `nomad` (default) → Podman's `k8s-file` log, which the driver reads back through the logs
 * API and forwards to Nomad with stdout and stderr kept apart; `journald` → the journald driver. The
 * task's `logging` block wins over the plugin's when it sets a driver or options.
 */
import { Duration } from "effect"
import type { ContainerSpec } from "../domain/ContainerSpec.ts"
import { globMatch } from "../domain/values/globs.ts"
import { imageName } from "../domain/values/image.ts"
import { portMapEnv } from "./ports.ts"
import { containerName, type Mutable, type TranslateInput } from "./types.ts"

type Part = Partial<Mutable<ContainerSpec>>

/** The label prefix of the driver's identity labels. */
export const LABEL_PREFIX = "com.hashicorp.nomad."

/** The allocation label: how the driver recognises its own containers (adoption, the reaper). */
export const LABEL_ALLOC_ID = `${LABEL_PREFIX}podman.alloc_id`

/** The identity labels every container gets, and the optional node ones selected by `extra_labels`. */
export const nomadLabels = (input: TranslateInput): Readonly<Record<string, string>> => {
  const { task, plugin } = input
  const labels: Record<string, string> = {
    [LABEL_ALLOC_ID]: task.allocId,
    [`${LABEL_PREFIX}task_name`]: task.name,
    [`${LABEL_PREFIX}task_group_name`]: task.taskGroupName,
    [`${LABEL_PREFIX}job_name`]: task.jobName,
    [`${LABEL_PREFIX}job_id`]: task.jobId,
    [`${LABEL_PREFIX}namespace`]: task.namespace
  }
  const optional: ReadonlyArray<[string, string]> = [["node_name", task.nodeName], ["node_id", task.nodeId]]
  for (const [key, value] of optional) {
    if (plugin.extra_labels.some((glob) => globMatch(glob, key))) labels[`${LABEL_PREFIX}${key}`] = value
  }
  return labels
}

/** `log_configuration` for the task. */
export const logConfiguration = (input: TranslateInput): NonNullable<ContainerSpec["log_configuration"]> => {
  const { config, plugin } = input
  const taskLogging = config.logging
  const useTask = taskLogging !== undefined && (taskLogging.driver !== undefined || Object.keys(taskLogging.options).length > 0)
  const driver = useTask ? (taskLogging!.driver ?? "nomad") : plugin.logging.driver
  const options = useTask ? taskLogging!.options : plugin.logging.options
  const podmanDriver = driver === "journald" ? "journald" : "k8s-file"
  return Object.keys(options).length > 0 ? { driver: podmanDriver, options } : { driver: podmanDriver }
}

/**
 * The identity/process part of the spec. The image is the configured reference; the driver puts
 * the resolved image (e.g. a loaded archive's name) in its place once it has it.
 */
export const metadata = (input: TranslateInput): Part => {
  const { config, task } = input
  const out: Part = {
    name: containerName(task),
    image: imageName(config.image),
    env: { ...task.env, ...portMapEnv(input) },
    labels: { ...config.labels, ...nomadLabels(input) }
  }
  const command = [...(config.command !== undefined && config.command !== "" ? [config.command] : []), ...config.args]
  if (command.length > 0) out.command = command
  if (config.entrypoint !== undefined && config.entrypoint.length > 0) out.entrypoint = config.entrypoint
  if (config.working_dir !== undefined && config.working_dir !== "") out.work_dir = config.working_dir
  if (config.hostname !== undefined && config.hostname !== "") out.hostname = config.hostname
  if (task.user !== "") out.user = task.user
  if (config.tty) out.terminal = true
  if (config.init) out.init = true
  if (config.init_path !== undefined && config.init_path !== "") out.init_path = config.init_path
  if (Object.keys(config.sysctl).length > 0) out.sysctl = config.sysctl
  out.log_configuration = logConfiguration(input)
  if (config.kill_signal !== undefined) out.stop_signal = config.kill_signal.number
  // libpod takes whole seconds; a part second rounds up so the task gets at least what it asked for
  if (config.stop_timeout !== undefined) out.stop_timeout = Math.ceil(Duration.toMillis(config.stop_timeout) / 1000)
  return out
}
