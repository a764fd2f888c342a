/**
 * Registry credentials for a pull, resolved in the Go driver's order: the task's `auth` block, then
 * the plugin's `auth.config` file (Docker `config.json`: `auths`, `credHelpers`, `credsStore`), then
 * the plugin's `auth.helper` (`docker-credential-<helper> get`). With `auth_soft_fail` a failing
 * backend is skipped instead of failing the start. Credentials never reach a log or an error text.
 */
import { execFile } from "node:child_process"
import { readFile } from "node:fs/promises"
import { Effect } from "effect"
import { ImagePullError } from "../domain/errors.ts"
import type { PluginConfig } from "../domain/PluginConfig.ts"
import type { TaskConfig } from "../domain/TaskConfig.ts"
import type { RegistryAuth } from "../services/Podman.ts"

const helperGet = (helper: string, server: string) =>
  Effect.callback<RegistryAuth | undefined, string>((resume) => {
    const child = execFile(`docker-credential-${helper}`, ["get"], { timeout: 10_000 }, (err, stdout) => {
      if (err) return resume(Effect.fail(`credential helper ${helper} failed: ${err.message.split("\n")[0]}`))
      try {
        const j = JSON.parse(stdout) as { Username?: string; Secret?: string }
        resume(Effect.succeed(j.Secret ? { username: j.Username ?? "", password: j.Secret, serverAddress: server } : undefined))
      } catch {
        resume(Effect.fail(`credential helper ${helper} returned invalid JSON`))
      }
    })
    child.stdin?.end(server)
  })

const fromAuthFile = (path: string, host: string) =>
  Effect.tryPromise({ try: () => readFile(path, "utf8"), catch: () => `cannot read auth config file ${path}` }).pipe(
    Effect.flatMap((text) =>
      Effect.try({ try: () => JSON.parse(text) as DockerConfig, catch: () => `auth config file ${path} is not valid JSON` })
    ),
    Effect.flatMap((cfg): Effect.Effect<RegistryAuth | undefined, string> => {
      const helper = cfg.credHelpers?.[host] ?? cfg.credsStore
      const auths = cfg.auths ?? {}
      const key = Object.keys(auths).find((k) => k.replace(/^https?:\/\//, "").replace(/\/.*$/, "") === host)
      const entry = key === undefined ? undefined : auths[key]
      if (entry?.auth) {
        const plain = Buffer.from(entry.auth, "base64").toString("utf8")
        const i = plain.indexOf(":")
        return Effect.succeed({ username: plain.slice(0, i), password: plain.slice(i + 1), serverAddress: host })
      }
      if (entry?.identitytoken) return Effect.succeed({ identityToken: entry.identitytoken, serverAddress: host })
      if (entry?.username) return Effect.succeed({ username: entry.username, password: entry.password ?? "", serverAddress: host })
      if (helper) return helperGet(helper, host)
      return Effect.succeed(undefined)
    })
  )

interface DockerConfig {
  readonly auths?: Record<string, { auth?: string; identitytoken?: string; username?: string; password?: string }>
  readonly credHelpers?: Record<string, string>
  readonly credsStore?: string
}

/** The credentials for pulling `ref`, or undefined for an anonymous pull. */
export const resolveAuth = (
  ref: string,
  registry: string | undefined,
  config: TaskConfig,
  plugin: PluginConfig
): Effect.Effect<RegistryAuth | undefined, ImagePullError> => {
  if (config.auth?.username || config.auth?.password) {
    return Effect.succeed({
      username: config.auth.username ?? "",
      password: config.auth.password ?? "",
      ...(registry ? { serverAddress: registry } : {})
    })
  }
  // A short name is resolved by Podman's registries.conf: the registry (and so the file entry or
  // helper to ask) is not known here, so only the task's own credentials apply.
  if (registry === undefined) return Effect.succeed(undefined)
  const host = registry
  const backends: Array<Effect.Effect<RegistryAuth | undefined, string>> = []
  if (plugin.auth?.config) backends.push(fromAuthFile(plugin.auth.config, host))
  if (plugin.auth?.helper) backends.push(helperGet(plugin.auth.helper, host))
  return Effect.gen(function*() {
    for (const backend of backends) {
      const found = yield* backend.pipe(
        Effect.catch((detail) =>
          config.auth_soft_fail
            ? Effect.logWarning(`registry auth backend skipped (auth_soft_fail): ${detail}`).pipe(Effect.as(undefined))
            : Effect.fail(new ImagePullError({ image: ref, reason: "auth", detail }))
        )
      )
      if (found) return found
    }
    return undefined
  })
}
