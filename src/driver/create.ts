/**
 * Creating a task's container so that a start is always retryable and Podman's refusals that are
 * the task's fault read as such:
 *
 * - A create cut short (the Podman service killed or restarted mid-call) can leave a container
 *   that only Podman's storage layer knows: it holds the name (`<task>.<alloc id>`), yet the API
 *   finds no container of that name, and every retry of the same allocation fails with "the
 *   container name is already in use". When a create is refused for its name and Podman knows no
 *   container of that name, the holder is such a leftover: it is removed (by name, which also
 *   removes storage-only containers) and the create tried once more.
 * - A `network_mode` naming a Podman network that does not exist is an `InvalidTaskConfig` on
 *   `network_mode`, not an internal error.
 */
import { Effect } from "effect"
import type { ContainerSpec } from "../domain/ContainerSpec.ts"
import { InvalidTaskConfig, type PodmanError } from "../domain/errors.ts"
import type { TaskConfig } from "../domain/TaskConfig.ts"
import { networkMode } from "../domain/values/namespaces.ts"
import { quote } from "../domain/values/text.ts"
import type { PodmanClient } from "../services/Podman.ts"

type Created = { readonly id: string; readonly warnings: ReadonlyArray<string> }

/** Frees the spec's name from a storage-only leftover, when that is what holds it. */
const freeName = (client: PodmanClient, name: string, conflict: PodmanError): Effect.Effect<void, PodmanError> =>
  Effect.gen(function*() {
    const known = yield* client.containerExists(name)
    // a container Podman knows holds the name: not a leftover; the caller's adoption check decides
    if (known) return yield* Effect.fail(conflict)
    yield* Effect.logWarning(`container name ${name} is held by a container only Podman's storage knows (an interrupted create); removing it`)
    yield* client.containerRemove(name, { force: true, volumes: true, timeoutSeconds: 0 }).pipe(
      Effect.catchReason("PodmanError", "NotFound", () => Effect.void)
    )
  })

/** `containerCreate`, with the leftover of an interrupted create cleared and a missing network named. */
export const createContainer = (
  client: PodmanClient,
  spec: ContainerSpec,
  config: TaskConfig
): Effect.Effect<Created, PodmanError | InvalidTaskConfig> => {
  const missingNetwork = (e: PodmanError): Effect.Effect<never, PodmanError | InvalidTaskConfig> =>
    e.reason._tag === "NotFound" && e.reason.what === "network" && config.network_mode !== undefined
      ? Effect.fail(new InvalidTaskConfig({
        issues: [{
          field: "network_mode",
          reason: `Podman has no network ${quote(networkMode.format(config.network_mode))}; create it first (podman network create) or choose another mode`
        }]
      }))
      : Effect.fail(e)
  return client.containerCreate(spec).pipe(
    Effect.catchReason("PodmanError", "Conflict", (_, e) => freeName(client, spec.name, e).pipe(Effect.andThen(client.containerCreate(spec)))),
    Effect.catchTag("PodmanError", missingNetwork)
  )
}
