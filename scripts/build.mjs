#!/usr/bin/env node
/**
 * Builds the plugin executable `dist/nomad-driver-podman` for this machine: one file that Nomad can
 * start from `plugin_dir` with a bare environment (no node on PATH, cwd /). It is byte for byte the
 * release file of this architecture (scripts/release.mjs; the pieces are in scripts/sea.mjs).
 *
 * 1. esbuild bundles src/cli/main.ts and every dependency (effect, @grpc/grpc-js, the HCL parser)
 *    into one CommonJS file, .build/bundle.cjs, with the git commit for `version`. @cdktf/hcl2json
 *    reads its wasm from disk next to its own sources; the bundle embeds the gzipped wasm instead.
 * 2. Node's single executable application (SEA) support turns the bundle into a blob, which
 *    postject injects into a copy of the Node 22 binary of the `node-linux-<arch>` package
 *    (pinned with its integrity hash in package-lock.json), so the executable carries its runtime.
 *
 * Usage: node scripts/build.mjs [--code-cache]
 *   --code-cache  embed V8's code cache (for measurements only: it is not reproducible, see below)
 *
 * Measured on the 2-core build machine (Node 22.23.3, x64, other builds running beside; medians of
 * 21 interleaved runs, scripts/startup-bench.mjs): the executable is 126.4 MB (the unstripped Node
 * binary 124.8 MB, the blob 5.3 MB, of which 2.3 MB is the HCL parser's wasm). With V8's code cache
 * the blob grows by 0.65 MB and start-up is
 *   `version`:                   CODE_CACHE_VERSION
 *   `validate` (HCL parser):     CODE_CACHE_VALIDATE
 *   plugin handshake line:       CODE_CACHE_HANDSHAKE
 * The code cache is not reproducible (two builds differ in about 540 kB of it) and would have to be
 * made by each architecture's own Node (under emulation for arm64); the gain does not pay for
 * that, so the executables are built without it. Stripping debug symbols would save 3.8 MB (3 %)
 * but make the host's binutils part of the build (and x86 binutils cannot strip arm64): not done.
 *
 * Env: NDP_BUILD_ALLOW_MISSING=1 stubs lazily imported modules that do not exist yet (plugin mode
 *      then fails at run time with a clear message) instead of failing the build.
 */
import { execFileSync } from "node:child_process"
import { statSync } from "node:fs"
import * as path from "node:path"
import { bundle, gitCommit, inject, makeBlob, mib, nodeRuntime, root, step } from "./sea.mjs"

const args = new Set(process.argv.slice(2))
const target = path.join(root, "dist", "nomad-driver-podman")

const bundleFile = await bundle({ commit: gitCommit() })
const { blobFile, nodeVersion } = makeBlob({ bundleFile, codeCache: args.has("--code-cache") })
inject({ runtime: nodeRuntime(process.arch), blobFile, target })
step(`wrote ${path.relative(root, target)} (${mib(statSync(target).size)}, Node ${nodeVersion})`)

// The executable must answer without node on PATH and from /, as Nomad starts it.
const out = execFileSync(target, ["version"], { env: { PATH: "/usr/bin:/bin" }, cwd: "/", encoding: "utf8" })
if (!out.startsWith("nomad-driver-podman ")) throw new Error(`smoke test: unexpected output of 'version': ${out}`)
step(`smoke test ok: ${out.trim().split("\n").join(", ")}`)
