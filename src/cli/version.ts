/**
 * The plugin's version: the one in package.json (bundled into the executable at build time).
 */
import pkg from "../../package.json" with { type: "json" }

/** Plugin version, e.g. `0.1.0`. */
export const pluginVersion: string = pkg.version
