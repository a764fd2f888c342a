/**
 * Image references: what `image` names and where it comes from.
 *
 * - `oci-archive:<path|url>` / `docker-archive:<path|url>`: an archive to load. A local path ends
 *   at the first `:` (`oci-archive:/img.tar:name` names the image inside); an `http(s)://` URL is
 *   taken whole.
 * - `docker://<ref>`: normalised like containers/image does (`docker://redis` →
 *   `docker.io/library/redis:latest`).
 * - a reference whose first component is a registry host (has a `.` or `:`, or is `localhost`):
 *   normalised (`:latest` added unless a tag or digest is given). `host:port/repo` without a tag is
 *   parsed correctly (the port is not a tag).
 * - a short name (`redis:7`, `library/redis`): passed to Podman untouched so registries.conf
 *   aliases and search registries apply; no registry host is known for auth.
 */
import { Result } from "effect"
import { quote, type TextCodec } from "./text.ts"

/** Where an archive image comes from. */
export type ArchiveSource =
  | { readonly _tag: "path"; readonly path: string }
  | { readonly _tag: "url"; readonly url: string }

/** A parsed `image`; `text` is what the user wrote (for messages, and to write the config back). */
export type ImageRef =
  | {
    readonly _tag: "registry"
    readonly text: string
    /** What to pull: normalised, or the short name untouched. */
    readonly ref: string
    /** Registry host (`docker.io`, `127.0.0.1:5000`) for credential lookup; absent for short names. */
    readonly registry?: string
    /** Repository path without the host (`library/redis`). */
    readonly repository: string
    readonly tag?: string
    readonly digest?: string
    /** A short name left to Podman's registries.conf. */
    readonly shortName: boolean
  }
  | {
    readonly _tag: "archive"
    readonly text: string
    readonly format: "oci-archive" | "docker-archive"
    readonly source: ArchiveSource
    /** The image name inside the archive (`oci-archive:/x.tar:name`), when given. */
    readonly reference?: string
  }

const domainRe = /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*|\[[0-9a-fA-F:]+\])(?::\d{1,5})?$/
const componentRe = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/
const tagRe = /^[\w][\w.-]{0,127}$/
const digestRe = /^[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}$/

const looksLikeDomain = (c: string): boolean => c.includes(".") || c.includes(":") || c === "localhost" || c.startsWith("[")

/** Parses `image`; a problem is the reason. */
export const parseImageRef = (image: string): Result.Result<ImageRef, string> => {
  const fail = (reason: string) => Result.fail(reason)
  const ok = (ref: ImageRef) => Result.succeed(ref)
  const text = image.trim()
  if (text === "") return fail("is required")

  for (const format of ["oci-archive", "docker-archive"] as const) {
    if (!text.startsWith(`${format}:`)) continue
    const rest = text.slice(format.length + 1)
    if (/^https?:\/\//i.test(rest)) {
      try {
        new URL(rest)
      } catch {
        return fail(`invalid archive URL ${quote(rest)}`)
      }
      return ok({ _tag: "archive", text: image, format, source: { _tag: "url", url: rest } })
    }
    const idx = rest.indexOf(":")
    const path = idx === -1 ? rest : rest.slice(0, idx)
    const reference = idx === -1 ? "" : rest.slice(idx + 1)
    if (path === "") return fail(`${format}: needs a path or an http(s) URL`)
    return ok(
      reference === ""
        ? { _tag: "archive", text: image, format, source: { _tag: "path", path } }
        : { _tag: "archive", text: image, format, source: { _tag: "path", path }, reference }
    )
  }

  const explicitDocker = text.startsWith("docker://")
  const body = explicitDocker ? text.slice("docker://".length) : text
  if (body === "") return fail("docker:// needs an image reference")

  const at = body.indexOf("@")
  const nameAndTag = at === -1 ? body : body.slice(0, at)
  const digest = at === -1 ? undefined : body.slice(at + 1)
  if (digest !== undefined && !digestRe.test(digest)) return fail(`invalid digest ${quote(digest)}`)

  const lastSlash = nameAndTag.lastIndexOf("/")
  const lastColon = nameAndTag.lastIndexOf(":")
  const hasTag = lastColon > lastSlash
  const name = hasTag ? nameAndTag.slice(0, lastColon) : nameAndTag
  const tag = hasTag ? nameAndTag.slice(lastColon + 1) : undefined
  if (tag !== undefined && !tagRe.test(tag)) return fail(`invalid tag ${quote(tag)}`)

  // containers/image's NameTotalLengthMax: Podman refuses longer names
  if (name.length > 255) return fail(`the repository name ${quote(name)} is longer than 255 characters`)
  const components = name.split("/")
  const hasDomain = components.length > 1 && looksLikeDomain(components[0]!)
  const domain = hasDomain ? components[0]! : undefined
  const path = hasDomain ? components.slice(1) : components
  if (domain !== undefined && !domainRe.test(domain)) return fail(`invalid registry host ${quote(domain)}`)
  for (const c of path) {
    if (!componentRe.test(c)) {
      return fail(`invalid repository name ${quote(name)} (lower-case letters, digits and separators . _ - only)`)
    }
  }

  if (domain === undefined && !explicitDocker) {
    return ok({
      _tag: "registry",
      text: image,
      ref: text,
      repository: path.join("/"),
      ...(tag !== undefined ? { tag } : {}),
      ...(digest !== undefined ? { digest } : {}),
      shortName: true
    })
  }
  const registry = domain ?? "docker.io"
  const repository = domain === undefined && path.length === 1 ? `library/${path[0]}` : path.join("/")
  const finalTag = tag ?? (digest === undefined ? "latest" : undefined)
  return ok({
    _tag: "registry",
    text: image,
    ref: `${registry}/${repository}${finalTag !== undefined ? `:${finalTag}` : ""}${digest !== undefined ? `@${digest}` : ""}`,
    registry,
    repository,
    ...(finalTag !== undefined ? { tag: finalTag } : {}),
    ...(digest !== undefined ? { digest } : {}),
    shortName: false
  })
}

/**
 * The image name a spec names before the image is resolved: the registry reference, or the
 * archive as written (the driver puts the loaded image's name in its place).
 */
export const imageName = (ref: ImageRef): string => (ref._tag === "registry" ? ref.ref : ref.text)

/** The codec of `image`. */
export const imageRef: TextCodec<ImageRef> = { parse: parseImageRef, format: (ref) => ref.text }
