/**
 * The operator's guard rails, as Nomad's docker driver has them: `allow_privileged`, `allow_caps`
 * and `allow_runtimes` in the plugin config decide which tasks may start. Pure functions of the
 * task config, the plugin config and what Podman reports (its default runtime), so StartTask, the
 * CLI's `validate` (given a plugin config) and embedders all judge a task the same way.
 *
 * They apply when a task starts, never when one is recovered: a running task stays where it is
 * when the operator tightens the rules (the next start of it is judged by them).
 *
 * Capabilities follow the docker driver: names are compared lower-case without the `cap_` prefix;
 * every `cap_add` entry must be allowed (`all` in `allow_caps` allows any, `cap_add = ["all"]`
 * needs it); Podman's default capabilities outside `allow_caps` are dropped by the translation
 * (`capsToDrop`, src/translate/security.ts).
 */
import { Effect } from "effect"
import { type ConfigIssue, InvalidTaskConfig } from "../domain/errors.ts"
import type { PluginConfig } from "../domain/PluginConfig.ts"
import type { TaskConfig } from "../domain/TaskConfig.ts"
import { quote } from "../domain/values/text.ts"
import { allowsAllCaps, normaliseCap } from "../translate/index.ts"

export { capsToDrop } from "../translate/index.ts"

/** What Podman tells about itself that the guard rails need. */
export interface GuardRailFacts {
  /** The OCI runtime Podman uses by default (`info`), e.g. `runc`: allowed when `allow_runtimes` is empty. */
  readonly defaultRuntime?: string
}

/** The `cap_add` entries `allow_caps` does not allow (normalised, in order, without duplicates). */
export const disallowedCaps = (capAdd: ReadonlyArray<string>, allowCaps: ReadonlyArray<string>): ReadonlyArray<string> => {
  if (allowsAllCaps(allowCaps)) return []
  const allowed = new Set(allowCaps.map(normaliseCap))
  return [...new Set(capAdd.map(normaliseCap))].filter((c) => c !== "" && !allowed.has(c))
}

/** Every guard-rail problem of a task: the task option, and the plugin setting that would allow it. */
export const guardRailIssues = (config: TaskConfig, plugin: PluginConfig, facts: GuardRailFacts = {}): ReadonlyArray<ConfigIssue> => {
  const issues: Array<ConfigIssue> = []
  if (config.privileged && !plugin.allow_privileged) {
    issues.push({
      field: "privileged",
      reason: "privileged containers are not allowed on this client; the operator can set allow_privileged = true in the plugin config"
    })
  }
  const caps = disallowedCaps(config.cap_add, plugin.allow_caps)
  if (caps.length > 0) {
    issues.push({
      field: "cap_add",
      reason: `capabilities not allowed on this client: ${caps.join(", ")}; the operator can add them to the plugin's allow_caps (or set allow_caps = ["all"])`
    })
  }
  const runtime = config.runtime?.trim() ?? ""
  if (runtime !== "") {
    const allowed = plugin.allow_runtimes.length > 0
      ? plugin.allow_runtimes
      : facts.defaultRuntime !== undefined && facts.defaultRuntime !== "" ? [facts.defaultRuntime] : undefined
    // without a list and without Podman's answer (the CLI offline) the runtime cannot be judged here
    if (allowed !== undefined && !allowed.includes(runtime)) {
      issues.push({
        field: "runtime",
        reason: `OCI runtime ${quote(runtime)} is not allowed on this client (allowed: ${allowed.join(", ")}); the operator can add it to the plugin's allow_runtimes`
      })
    }
  }
  return issues
}

/** `guardRailIssues` as an Effect: an `InvalidTaskConfig` naming every problem. */
export const checkGuardRails = (config: TaskConfig, plugin: PluginConfig, facts: GuardRailFacts = {}): Effect.Effect<void, InvalidTaskConfig> =>
  Effect.suspend(() => {
    const issues = guardRailIssues(config, plugin, facts)
    return issues.length > 0 ? Effect.fail(new InvalidTaskConfig({ issues })) : Effect.void
  })
