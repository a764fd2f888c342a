/**
 * The pieces of the executable build, shared by scripts/build.mjs (this machine's executable) and
 * scripts/release.mjs (the linux amd64 and arm64 release files): bundle the plugin (the main
 * script) and the CLI (an asset loaded only in CLI mode) into CommonJS files, turn them into a
 * Node single-executable (SEA) blob with the executable's V8 flags, find the Node runtime of an
 * architecture, and inject the blob into a copy of that runtime.
 *
 * Reproducible by construction: esbuild's output is deterministic, the blob is made without V8's
 * code cache (the code cache differs from run to run) and without absolute paths, the runtimes
 * are the npm packages pinned with integrity hashes in package-lock.json, copied byte for byte
 * (no strip: the host's binutils would become part of the build), and postject is deterministic.
 */
import { execFileSync } from "node:child_process"
import { createHash } from "node:crypto"
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..")
export const buildDir = path.join(root, ".build")
const SEA_FUSE = "NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2"

/** Node's and Debian's names of the architectures we ship. */
export const ARCHES = { x64: "amd64", arm64: "arm64" }

export const mib = (bytes) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`
export const step = (msg) => process.stderr.write(`build: ${msg}\n`)

/** The commit being built, or "unknown" when this is not a git checkout (e.g. a source tarball). */
export const gitCommit = () => {
  try {
    return execFileSync("git", ["rev-parse", "HEAD"], { cwd: root, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim()
  } catch {
    return "unknown"
  }
}

/** hcl2json's bridge reads `main.wasm.gz` from its package directory at import time: embed it. */
const hcl2jsonPlugin = {
  name: "hcl2json-embedded-wasm",
  setup(build) {
    build.onLoad({ filter: /[\\/]@cdktf[\\/]hcl2json[\\/]lib[\\/]bridge\.js$/ }, (argsOnLoad) => {
      const source = readFileSync(argsOnLoad.path, "utf8")
      const from = `(0, zlib_1.gunzipSync)(await fs.readFile((0, path_1.join)(__dirname, "..", "main.wasm.gz")))`
      if (!source.includes(from)) {
        throw new Error(`@cdktf/hcl2json changed: cannot find the wasm loading code in ${argsOnLoad.path}`)
      }
      return {
        contents: source.replace(from, `(0, zlib_1.gunzipSync)(require("../main.wasm.gz"))`),
        loader: "js",
        resolveDir: path.dirname(argsOnLoad.path)
      }
    })
  }
}

/** Lazily imported modules written by others may not exist yet; fail loudly, or stub on request. */
const missingModulesPlugin = {
  name: "missing-lazy-modules",
  setup(build) {
    build.onResolve({ filter: /^\.\.?\/.*\.ts$/ }, (a) => {
      const resolved = path.resolve(a.resolveDir, a.path)
      if (existsSync(resolved)) return undefined
      if (process.env.NDP_BUILD_ALLOW_MISSING !== "1") return undefined // esbuild reports the error
      step(`WARNING: ${path.relative(root, resolved)} is missing; stubbed (plugin mode will fail at run time)`)
      return { path: resolved, namespace: "missing" }
    })
    build.onLoad({ filter: /.*/, namespace: "missing" }, (a) => ({
      contents: `throw new Error(${JSON.stringify(`${path.relative(root, a.path)} was missing when this executable was built`)})`,
      loader: "js"
    }))
  }
}

/**
 * In the executable, the entry's `import("./commands.ts")` (the human CLI: validate, plan, run,
 * doctor, and the HCL parser) loads the CLI bundle from the SEA asset `cli.cjs` only when it runs:
 * a plugin, which never runs the CLI, does not carry its source text in its heap. The asset is
 * CommonJS that requires only Node's built-in modules (everything else is bundled into it).
 */
export const CLI_ASSET = "cli.cjs"
const cliFromAssetPlugin = {
  name: "cli-from-sea-asset",
  setup(build) {
    build.onResolve({ filter: /^\.\/commands\.ts$/ }, (a) =>
      a.importer.endsWith(path.join("src", "cli", "main.ts")) ? { path: "cli-asset", namespace: "cli-asset" } : undefined
    )
    build.onLoad({ filter: /.*/, namespace: "cli-asset" }, () => ({
      loader: "js",
      contents: [
        `const code = require("node:sea").getAsset(${JSON.stringify(CLI_ASSET)}, "utf8")`,
        `const run = require("node:vm").compileFunction(code, ["exports", "require", "module", "__filename", "__dirname"], { filename: ${JSON.stringify(CLI_ASSET)} })`,
        `const m = { exports: {} }`,
        `run.call(m.exports, m.exports, require, m, __filename, __dirname)`,
        `module.exports = m.exports`
      ].join("\n")
    }))
  }
}

/**
 * V8 keeps a script's source text for as long as the script lives, one byte per character when
 * every character is Latin-1 and two bytes otherwise. A single other character (a `μ` in a regex
 * literal, which esbuild does not escape) doubled the plugin's 5 MB of source text in its heap.
 */
const assertOneByte = (file) => {
  const text = readFileSync(file, "utf8")
  for (let i = 0; i < text.length; i++) {
    if (text.charCodeAt(i) > 0xff) {
      throw new Error(`${path.relative(root, file)}: character U+${text.charCodeAt(i).toString(16).padStart(4, "0")} near ${JSON.stringify(text.slice(Math.max(0, i - 40), i + 10))}: V8 would hold the whole bundle two bytes per character; escape it in the source`)
    }
  }
}

const esbuildOptions = (commit) => ({
  absWorkingDir: root,
  bundle: true,
  format: "cjs",
  platform: "node",
  target: "node22",
  minifySyntax: true,
  minifyWhitespace: true,
  legalComments: "none",
  sourcemap: false,
  loader: { ".gz": "binary" },
  // wasm_exec.js falls back to require("performance") only where the global is missing (never on Node 22)
  external: ["performance"],
  define: {
    // SEA mains are CommonJS; `import.meta.url` only feeds `createRequire`-style lookups there.
    "import.meta.url": "__ndp_import_meta_url",
    // src/cli/version.ts
    NDP_BUILD_COMMIT: JSON.stringify(commit)
  },
  banner: { js: `const __ndp_import_meta_url = require("node:url").pathToFileURL(__filename).href;` },
  logLevel: "warning",
  // ts-proto emits enum aliases as duplicate `case` labels in proto/gen: harmless
  logOverride: { "duplicate-case": "silent" },
  metafile: true
})

/**
 * Bundles the executable's two scripts, each with every dependency, into CommonJS files:
 * .build/bundle.cjs (the SEA main: src/cli/main.ts and plugin mode) and .build/cli.cjs (the CLI,
 * src/cli/commands.ts, loaded from the SEA asset). Returns the main bundle's path.
 */
export const bundle = async ({ commit }) => {
  const esbuild = await import("esbuild")
  const bundleFile = path.join(buildDir, "bundle.cjs")
  const cliFile = path.join(buildDir, CLI_ASSET)
  mkdirSync(buildDir, { recursive: true })
  const started = Date.now()
  const main = await esbuild.build({
    ...esbuildOptions(commit),
    entryPoints: ["src/cli/main.ts"],
    outfile: bundleFile,
    plugins: [cliFromAssetPlugin, missingModulesPlugin]
  })
  const cli = await esbuild.build({
    ...esbuildOptions(commit),
    entryPoints: ["src/cli/commands.ts"],
    outfile: cliFile,
    plugins: [hcl2jsonPlugin, missingModulesPlugin]
  })
  writeFileSync(path.join(buildDir, "meta.json"), JSON.stringify(main.metafile))
  writeFileSync(path.join(buildDir, "meta-cli.json"), JSON.stringify(cli.metafile))
  const inPlugin = Object.keys(main.metafile.inputs).filter((i) => i.includes("hcl2json") || i.startsWith("src/cli/commands"))
  if (inPlugin.length > 0) throw new Error(`the plugin bundle must not contain the CLI: ${inPlugin.join(", ")}`)
  assertOneByte(bundleFile)
  assertOneByte(cliFile)
  step(`bundled ${path.relative(root, bundleFile)} (${mib(statSync(bundleFile).size)}) and ${path.relative(root, cliFile)} (${mib(statSync(cliFile).size)}), commit ${commit}, in ${Date.now() - started} ms`)
  return bundleFile
}

const lockfile = () => JSON.parse(readFileSync(path.join(root, "package-lock.json"), "utf8"))

/** The runtime package pinned in package-lock.json for an architecture: name, version, integrity. */
const pinnedRuntime = (arch) => {
  const name = `node-linux-${arch}`
  const entry = lockfile().packages[`node_modules/${name}`]
  if (!entry?.integrity) throw new Error(`package-lock.json pins no ${name} (see scripts/node-runtimes/package.json)`)
  return { name, version: entry.version, integrity: entry.integrity }
}

/**
 * The Node binary for `arch`. This machine's architecture is installed by `npm ci` (an optional
 * dependency of scripts/node-runtimes); the other one is fetched with `npm pack` (npm's cache
 * first) and accepted only if its tarball matches the integrity hash in package-lock.json.
 */
export const nodeRuntime = (arch) => {
  const pinned = pinnedRuntime(arch)
  const installed = path.join(root, "node_modules", pinned.name)
  if (existsSync(path.join(installed, "bin", "node"))) {
    const version = JSON.parse(readFileSync(path.join(installed, "package.json"), "utf8")).version
    if (version !== pinned.version) throw new Error(`node_modules/${pinned.name} is ${version}, package-lock.json pins ${pinned.version}: run npm ci`)
    return { ...pinned, binary: path.join(installed, "bin", "node") }
  }
  const dir = path.join(buildDir, "runtimes", `${pinned.name}-${pinned.version}`)
  const binary = path.join(dir, "package", "bin", "node")
  const tgz = path.join(dir, `${pinned.name}-${pinned.version}.tgz`)
  const [algorithm, expected] = pinned.integrity.split(/-(.*)/s)
  const matches = () => createHash(algorithm).update(readFileSync(tgz)).digest("base64") === expected
  // a tarball fetched before is checked again: the hash guards what goes into the executable
  if (!existsSync(binary) || !existsSync(tgz) || !matches()) {
    rmSync(dir, { recursive: true, force: true })
    mkdirSync(dir, { recursive: true })
    step(`fetching ${pinned.name}@${pinned.version} through npm`)
    execFileSync("npm", ["pack", `${pinned.name}@${pinned.version}`, "--prefer-offline", "--pack-destination", dir, "--silent"], {
      cwd: dir,
      stdio: ["ignore", "ignore", "inherit"]
    })
    if (!matches()) {
      rmSync(dir, { recursive: true, force: true })
      throw new Error(`${pinned.name}@${pinned.version}: the tarball's ${algorithm} does not match package-lock.json's integrity`)
    }
    execFileSync("tar", ["-xzf", tgz, "-C", dir, "package/bin/node"])
  }
  return { ...pinned, binary }
}

/**
 * V8 flags of the executable, in its SEA config (plugin and CLI alike):
 * - `--max-semi-space-size=1`: V8's young generation grows its semi-spaces up to 16 MiB each in a
 *   burst of allocations (a burst of StartTasks) and keeps them; the plugin's short-lived
 *   allocations are small, so 1 MiB semi-spaces keep its RSS low for a few more (cheap) scavenges.
 * - `--v8-pool-size=1`: one V8 worker thread (for background GC and compilation) instead of one per
 *   core. Each worker that allocates gets a malloc arena of its own that keeps what it freed; with
 *   one, the plugin's anonymous memory with 100 running tasks was 36.6-40.9 MiB against 40-43.7
 *   without (`BENCH_ROWS=rss npm run bench`, three runs each), with no change in CPU per StartTask
 *   or TaskStats.
 * Nomad's agent passes its whole environment to plugins: `execArgvExtension: "none"` makes the
 * executable ignore NODE_OPTIONS (an agent started with `--inspect` or `--require hook.js` must
 * not slow or break the plugin), and no extra Node flags are read from its command line.
 */
export const EXEC_ARGV = ["--max-semi-space-size=1", "--v8-pool-size=1"]

/**
 * Makes the SEA blob with this machine's Node runtime (the same version as every runtime we ship;
 * without a code cache the blob does not depend on the architecture). Run from the build directory
 * with relative paths, because the blob records the main script's and the assets' paths.
 */
export const makeBlob = ({ bundleFile, codeCache }) => {
  const host = nodeRuntime(process.arch)
  const blobFile = path.join(buildDir, "sea-prep.blob")
  const configFile = path.join(buildDir, "sea-config.json")
  writeFileSync(configFile, JSON.stringify({
    main: path.relative(buildDir, bundleFile),
    output: path.relative(buildDir, blobFile),
    disableExperimentalSEAWarning: true,
    useCodeCache: codeCache,
    useSnapshot: false,
    assets: { [CLI_ASSET]: CLI_ASSET },
    execArgv: EXEC_ARGV,
    execArgvExtension: "none"
  }, null, 2))
  execFileSync(host.binary, ["--experimental-sea-config", path.basename(configFile)], {
    cwd: buildDir,
    stdio: ["ignore", "ignore", "inherit"]
  })
  return { blobFile, nodeVersion: host.version }
}

/** Copies the runtime to `target` and injects the blob: the executable. */
export const inject = ({ runtime, blobFile, target }) => {
  const postject = path.join(root, "node_modules", ".bin", "postject")
  mkdirSync(path.dirname(target), { recursive: true })
  rmSync(target, { force: true })
  copyFileSync(runtime.binary, target)
  chmodSync(target, 0o755)
  execFileSync(postject, [target, "NODE_SEA_BLOB", blobFile, "--sentinel-fuse", SEA_FUSE], {
    // postject prints a harmless "Can't find string offset for section name '.note.100'" warning
    stdio: ["ignore", "ignore", "pipe"]
  })
  chmodSync(target, 0o755)
}

/** Hex SHA-256 of a file. */
export const sha256 = (file) => createHash("sha256").update(readFileSync(file)).digest("hex")
