/**
 * The plugin's version: the one in package.json and the git commit it was built from (both
 * bundled into the executable at build time by scripts/build.mjs).
 */
import pkg from "../../package.json" with { type: "json" }

/** Replaced by the build (esbuild `define`); undefined when the sources run directly (tsx, tests). */
declare const NDP_BUILD_COMMIT: string | undefined

/** Plugin version, e.g. `0.1.0`. */
export const pluginVersion: string = pkg.version

/** The commit the executable was built from (`git rev-parse HEAD`), or "unknown" outside a git checkout or a build. */
export const pluginCommit: string = typeof NDP_BUILD_COMMIT === "string" ? NDP_BUILD_COMMIT : "unknown"
