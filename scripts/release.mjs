#!/usr/bin/env node
/**
 * Builds the release files into dist/release/:
 *   nomad-driver-podman_<version>_linux_amd64, nomad-driver-podman_<version>_linux_arm64, SHA256SUMS
 * One bundle and one SEA blob (made without a code cache, so they do not depend on the
 * architecture: see scripts/build.mjs for the measurements) injected into each architecture's
 * Node runtime from npm, pinned with integrity hashes in package-lock.json (scripts/sea.mjs).
 *
 * Usage: node scripts/release.mjs            build dist/release/
 *        node scripts/release.mjs --check    build twice (into .build/release-check/{a,b}) and fail
 *                                            unless the two are byte for byte identical and contain
 *                                            no path of this checkout
 */
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs"
import * as path from "node:path"
import { ARCHES, buildDir, bundle, gitCommit, inject, makeBlob, mib, nodeRuntime, root, sha256, step } from "./sea.mjs"

const pkg = JSON.parse(readFileSync(path.join(root, "package.json"), "utf8"))

/** Builds every release file into `outDir` (emptied first); returns the file names. */
const release = async (outDir) => {
  rmSync(outDir, { recursive: true, force: true })
  const commit = gitCommit()
  const bundleFile = await bundle({ commit })
  const { blobFile, nodeVersion } = makeBlob({ bundleFile, codeCache: false })
  const names = []
  for (const [arch, debArch] of Object.entries(ARCHES)) {
    const runtime = nodeRuntime(arch)
    if (runtime.version !== nodeVersion) {
      throw new Error(`${runtime.name} is ${runtime.version} but the blob was made by Node ${nodeVersion}: pin the same version (scripts/node-runtimes/package.json)`)
    }
    const name = `${pkg.name}_${pkg.version}_linux_${debArch}`
    inject({ runtime, blobFile, target: path.join(outDir, name) })
    step(`wrote ${path.relative(root, path.join(outDir, name))} (${mib(statSync(path.join(outDir, name)).size)}, Node ${runtime.version} ${arch})`)
    names.push(name)
  }
  // The format `sha256sum -c` reads: "<hex>  <name>".
  writeFileSync(path.join(outDir, "SHA256SUMS"), names.map((n) => `${sha256(path.join(outDir, n))}  ${n}\n`).join(""))
  return [...names, "SHA256SUMS"]
}

/** Whether `file` contains `needle` (read in one piece: the files are ~130 MB, fine for a check). */
const contains = (file, needle) => readFileSync(file).includes(Buffer.from(needle))

if (process.argv.includes("--check")) {
  const dirs = ["a", "b"].map((d) => path.join(buildDir, "release-check", d))
  const names = await release(dirs[0])
  rmSync(path.join(buildDir, "bundle.cjs"), { force: true })
  rmSync(path.join(buildDir, "sea-prep.blob"), { force: true })
  await release(dirs[1])
  const problems = []
  for (const dir of dirs) {
    const listed = readdirSync(dir).sort()
    if (JSON.stringify(listed) !== JSON.stringify([...names].sort())) problems.push(`${dir} holds ${listed.join(", ")}`)
  }
  for (const name of names) {
    const [a, b] = dirs.map((d) => path.join(d, name))
    if (!existsSync(b) || sha256(a) !== sha256(b)) problems.push(`${name} differs between two builds`)
    if (contains(a, root)) problems.push(`${name} contains the checkout's path ${root}`)
  }
  if (problems.length > 0) {
    for (const p of problems) process.stderr.write(`release:check: ${p}\n`)
    process.exit(1)
  }
  rmSync(dirs[1], { recursive: true, force: true })
  process.stdout.write(`release:check: two builds are identical:\n${readFileSync(path.join(dirs[0], "SHA256SUMS"), "utf8")}`)
} else {
  const outDir = path.join(root, "dist", "release")
  await release(outDir)
  process.stdout.write(readFileSync(path.join(outDir, "SHA256SUMS"), "utf8"))
}
