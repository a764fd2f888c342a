/**
 * The plugin configuration given with `--plugin-config`: an agent config file with a
 * `plugin "nomad-driver-podman" { config { … } }` block (Nomad's `agent.hcl`), a bare
 * `config { … }` block, or bare attributes, in HCL or JSON. It is decoded by the plugin's own
 * decoder (`decodePluginConfig`, what SetConfig runs), shaped as Nomad sends an agent's plugin
 * block (nested blocks and object attributes as lists of maps, docs/config.md), so every check the
 * plugin makes on its config runs here too, each problem at its line.
 */
import { Effect, type FileSystem } from "effect"
import { InvalidPluginConfig } from "../domain/errors.ts"
import { decodePluginConfig, type PluginConfig } from "../domain/PluginConfig.ts"
import { type Diagnostic, diagnostic, Diagnostics } from "./diagnostics.ts"
import { isJsonObj, locator, nomadShapeConfig } from "./extract.ts"
import { HclError, type Pos } from "./hcl/ast.ts"
import { evaluateDocument, failures, type Node } from "./hcl/document.ts"
import { parseHclBody } from "./hcl/parse.ts"
import { hclSyntax, readText } from "./jobfile.ts"

/** The plugin block's label in an agent config (the executable's file name in `plugin_dir`). */
export const PLUGIN_NAME = "nomad-driver-podman"

type Tree = { readonly [k: string]: Node }

/** Finds the plugin's `config` body in a file's tree, and the path its positions are under. */
const findConfig = (file: string, tree: Tree): { readonly body: Tree; readonly base: string } => {
  const plugins = tree["plugin"]
  if (isJsonObj(plugins)) {
    const labels = Object.keys(plugins)
    const entry = (plugins as Tree)[PLUGIN_NAME]
    if (entry === undefined) {
      throw new Diagnostics({
        diagnostics: [{ file, reason: `no plugin "${PLUGIN_NAME}" block (plugin blocks: ${labels.map((l) => `"${l}"`).join(", ") || "none"})` }]
      })
    }
    const blocks = (Array.isArray(entry) ? entry : [entry]) as ReadonlyArray<Tree>
    if (blocks.length !== 1) throw new Diagnostics({ diagnostics: [{ file, reason: `${blocks.length} plugin "${PLUGIN_NAME}" blocks; Nomad takes one` }] })
    const config = blocks[0]!["config"]
    const bodies = (Array.isArray(config) ? config : config === undefined ? [] : [config]) as ReadonlyArray<Tree>
    if (bodies.length > 1) throw new Diagnostics({ diagnostics: [{ file, reason: `${bodies.length} config blocks in the plugin block; Nomad takes one` }] })
    return { body: bodies[0] ?? {}, base: `plugin.${PLUGIN_NAME}.config` }
  }
  const keys = Object.keys(tree)
  if (keys.length === 1 && keys[0] === "config") {
    const bodies = (Array.isArray(tree["config"]) ? tree["config"] : [tree["config"]]) as ReadonlyArray<Tree>
    if (bodies.length !== 1) throw new Diagnostics({ diagnostics: [{ file, reason: `expected one config block, found ${bodies.length}` }] })
    return { body: bodies[0]!, base: "config" }
  }
  return { body: tree, base: "" }
}

/** Reads and decodes a plugin config file; every problem is reported at once, at its position. */
export const loadPluginConfig = (file: string): Effect.Effect<PluginConfig, Diagnostics, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const text = yield* readText(file)
    let tree: Tree
    let positions: ReadonlyMap<string, Pos> = new Map()
    if (text.trimStart().startsWith("{")) {
      const parsed = yield* Effect.try({
        try: () => JSON.parse(text) as unknown,
        catch: (e) => diagnostic({ file, reason: `JSON: ${e instanceof Error ? e.message : String(e)}` })
      })
      if (!isJsonObj(parsed)) return yield* diagnostic({ file, reason: "expected an object" })
      tree = parsed as Tree
    } else {
      yield* hclSyntax(file, text)
      const body = yield* Effect.try({
        try: () => parseHclBody(text),
        catch: (e) => diagnostic({ file, ...(e instanceof HclError ? { pos: e.pos } : {}), reason: e instanceof Error ? e.message : String(e) })
      })
      // an agent config has no variables or functions: values are literal
      const doc = evaluateDocument(body, { variables: {}, functions: {}, describe: "an agent config has no variables" })
      tree = doc.tree
      positions = doc.positions
    }
    const { body, base } = yield* Effect.try({
      try: () => findConfig(file, tree),
      catch: (e) => (e instanceof Diagnostics ? e : diagnostic({ file, reason: String(e) }))
    })
    const failed = failures(body)
    if (failed.length > 0) {
      return yield* new Diagnostics({ diagnostics: failed.map((f) => ({ file, pos: f.failure.error.pos, field: f.path, reason: f.failure.error.detail })) })
    }
    const at = locator(positions, base)
    return yield* decodePluginConfig(nomadShapeConfig(body)).pipe(
      Effect.mapError((e: InvalidPluginConfig) =>
        new Diagnostics({
          diagnostics: e.issues.map((i): Diagnostic => {
            const pos = at(i.field)
            return { file, ...(pos ? { pos } : {}), field: i.field, reason: i.reason }
          })
        })
      )
    )
  })
