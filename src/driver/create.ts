/**
 * Creating a task's container in as few Podman calls as possible, so that a start is always
 * retryable and Podman's refusals that are the task's fault read as such. The common case is one
 * call (create); everything else is looked up only when create says it is needed:
 *
 * - The image is fetched only when create reports it missing (unless the caller fetched it first:
 *   an archive, `force_pull`, a platform override); a local image costs no lookup.
 * - The name's owner is looked up only when create reports the name taken: a container of this
 *   allocation that runs is adopted (a restarted plugin's start of the same task), one that stopped
 *   is replaced, anyone else's is refused.
 * - A create cut short (the Podman service killed or restarted mid-call) can leave a container
 *   that only Podman's storage layer knows: it holds the name (`<task>.<alloc id>`), yet the API
 *   finds no container of that name, and every retry of the same allocation fails with "the
 *   container name is already in use". When the name is taken and the API knows no container of
 *   that name, the holder is such a leftover: it is removed (by name, which also removes
 *   storage-only containers) and the create tried once more.
 * - A `network_mode` naming a Podman network that does not exist is an `InvalidTaskConfig` on
 *   `network_mode`, not an internal error.
 */
import { Effect } from "effect"
import type { ContainerSpec } from "../domain/ContainerSpec.ts"
import { type ImagePullError, InvalidTaskConfig, type PodmanError, TaskStateError } from "../domain/errors.ts"
import type { NomadTask } from "../domain/NomadTask.ts"
import type { TaskConfig } from "../domain/TaskConfig.ts"
import { networkMode } from "../domain/values/namespaces.ts"
import { quote } from "../domain/values/text.ts"
import type { ContainerInspect, PodmanClient } from "../services/Podman.ts"
import { LABEL_ALLOC_ID } from "../translate/index.ts"

/** A created container, or one of this allocation's found running under the task's name. */
export interface Created {
  readonly id: string
  readonly adopted: ContainerInspect | undefined
}

export interface CreateOptions {
  /** Fetches the image when create reports it missing; absent when it was fetched first. */
  readonly fetchImage?: Effect.Effect<string, PodmanError | ImagePullError>
}

type CreateError = PodmanError | ImagePullError | InvalidTaskConfig | TaskStateError

/** `containerCreate` of the task's spec; see the module comment for what happens on a refusal. */
export const createContainer = (
  client: PodmanClient,
  task: NomadTask,
  config: TaskConfig,
  spec: ContainerSpec,
  options: CreateOptions = {}
): Effect.Effect<Created, CreateError> => {
  const once = (s: ContainerSpec): Effect.Effect<Created, PodmanError> =>
    client.containerCreate(s).pipe(
      Effect.tap((r) => Effect.forEach(r.warnings, (w) => Effect.logWarning(`podman create: ${w}`))),
      Effect.map((r): Created => ({ id: r.id, adopted: undefined }))
    )

  const missingImage = (e: PodmanError) => e.reason._tag === "NotFound" && e.reason.what === "image"
  /** One create; a missing image fetched (when the caller allows) and the create repeated. */
  const fetching = (s: ContainerSpec): Effect.Effect<Created, PodmanError | ImagePullError> =>
    once(s).pipe(
      Effect.catchIf(
        (e): e is PodmanError => e._tag === "PodmanError" && options.fetchImage !== undefined && missingImage(e),
        () => options.fetchImage!.pipe(Effect.flatMap((image) => once({ ...s, image })))
      )
    )

  /** create said the name is taken: whose is it? */
  const nameTaken = (conflict: PodmanError): Effect.Effect<Created, PodmanError | ImagePullError | TaskStateError> =>
    Effect.gen(function*() {
      const existing = yield* client.containerInspect(spec.name).pipe(
        Effect.map((c): ContainerInspect | undefined => c),
        Effect.catchReason("PodmanError", "NotFound", () => Effect.succeed(undefined))
      )
      if (existing === undefined) {
        yield* Effect.logWarning(
          `container name ${spec.name} is held by a container only Podman's storage knows (an interrupted create); removing it`
        )
        yield* client.containerRemove(spec.name, { force: true, volumes: true, timeoutSeconds: 0 }).pipe(
          Effect.catchReason("PodmanError", "NotFound", () => Effect.void)
        )
        // a second refusal for the name is Podman's final word
        return yield* fetching(spec).pipe(Effect.catchReason("PodmanError", "Conflict", () => Effect.fail(conflict)))
      }
      if (existing.labels[LABEL_ALLOC_ID] !== task.allocId) {
        return yield* new TaskStateError({
          taskId: task.id,
          detail: `a container named ${spec.name} exists and was not created for allocation ${task.allocId}; refusing to adopt it`
        })
      }
      if (existing.state.running) return { id: existing.id, adopted: existing } satisfies Created
      yield* client.containerRemove(existing.id, { force: true, volumes: true, timeoutSeconds: 0 }).pipe(
        Effect.catchReason("PodmanError", "NotFound", () => Effect.void)
      )
      return yield* fetching(spec)
    })

  const missingNetwork = (e: PodmanError): Effect.Effect<never, PodmanError | InvalidTaskConfig> =>
    e.reason._tag === "NotFound" && e.reason.what === "network" && config.network_mode !== undefined
      ? Effect.fail(new InvalidTaskConfig({
        issues: [{
          field: "network_mode",
          reason: `Podman has no network ${quote(networkMode.format(config.network_mode))}; create it first (podman network create) or choose another mode`
        }]
      }))
      : Effect.fail(e)

  return fetching(spec).pipe(
    Effect.catchReason("PodmanError", "Conflict", (_, e) => nameTaken(e)),
    Effect.catchTag("PodmanError", missingNetwork)
  )
}
