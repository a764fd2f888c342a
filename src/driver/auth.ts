/**
 * Registry credentials for a pull, resolved in the Go driver's order: the task's `auth` block, then
 * the plugin's `auth.config` file (Docker `config.json`: `auths`, `credHelpers`, `credsStore`), then
 * the plugin's `auth.helper` (`docker-credential-<helper> get`). With `auth_soft_fail` a failing
 * backend is skipped instead of failing the start. Credentials never reach a log or an error text.
 */
import { Duration, Effect, FileSystem, Schema, Stream } from "effect"
import { ChildProcess } from "effect/process"
import type { ChildProcessSpawner } from "effect/process/ChildProcessSpawner"
import { ImagePullError } from "../domain/errors.ts"
import type { PluginConfig } from "../domain/PluginConfig.ts"
import type { TaskConfig } from "../domain/TaskConfig.ts"
import type { RegistryAuth } from "../services/Podman.ts"

/** A credential helper that does not answer within this is a failed backend. */
const HELPER_TIMEOUT = Duration.seconds(10)

/** What `docker-credential-<helper> get` prints. */
const HelperAnswer = Schema.fromJsonString(Schema.Struct({ Username: Schema.optional(Schema.String), Secret: Schema.optional(Schema.String) }))

/** Runs `docker-credential-<helper> get` with the server on stdin (the Docker credential helper protocol). */
const helperGet = (helper: string, server: string): Effect.Effect<RegistryAuth | undefined, string, ChildProcessSpawner> =>
  Effect.scoped(
    Effect.gen(function*() {
      const child = yield* ChildProcess.make(`docker-credential-${helper}`, ["get"], {
        stdin: Stream.make(new TextEncoder().encode(server)),
        stderr: "ignore"
      })
      const [stdout, code] = yield* Effect.all([child.stdout.pipe(Stream.decodeText, Stream.mkString), child.exitCode], { concurrency: 2 })
      if (code !== 0) return yield* Effect.fail(`credential helper ${helper} exited with code ${code}`)
      const answer = yield* Schema.decodeUnknownEffect(HelperAnswer)(stdout).pipe(
        Effect.mapError(() => `credential helper ${helper} returned invalid JSON`)
      )
      return answer.Secret ? { username: answer.Username ?? "", password: answer.Secret, serverAddress: server } : undefined
    })
  ).pipe(
    Effect.catchTag("PlatformError", (e) => Effect.fail(`credential helper ${helper} failed: ${e.message.split("\n")[0]}`)),
    Effect.timeoutOrElse({ duration: HELPER_TIMEOUT, orElse: () => Effect.fail(`credential helper ${helper} did not answer within ${Duration.format(HELPER_TIMEOUT)}`) })
  )

const fromAuthFile = (path: string, host: string) =>
  FileSystem.FileSystem.pipe(
    Effect.flatMap((fs) => fs.readFileString(path)),
    Effect.mapError(() => `cannot read auth config file ${path}`),
    Effect.flatMap((text) =>
      Effect.try({ try: () => JSON.parse(text) as DockerConfig, catch: () => `auth config file ${path} is not valid JSON` })
    ),
    Effect.flatMap((cfg): Effect.Effect<RegistryAuth | undefined, string, ChildProcessSpawner> => {
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

/** What the credential backends need: the file system (auth file) and process spawning (helpers). */
export type AuthServices = FileSystem.FileSystem | ChildProcessSpawner

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
): Effect.Effect<RegistryAuth | undefined, ImagePullError, AuthServices> => {
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
  const backends: Array<Effect.Effect<RegistryAuth | undefined, string, AuthServices>> = []
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
