/**
 * How much chaos: seeded and bounded. `npm test` runs the small profile (a few minutes at most);
 * `npm run chaos` the full one (CHAOS_PROFILE=full). Every count can be set on its own:
 *
 *   CHAOS_SEED            the seed of every random choice (default 13)
 *   CHAOS_LIFECYCLES      randomized task lifecycles (small 12, full 500)
 *   CHAOS_CONCURRENCY     lifecycles in flight at once (small 4, full 8)
 *   CHAOS_PLUGIN_KILLS    plugin SIGKILLs + RecoverTask among them (small 2, full 10)
 *   CHAOS_PODMAN_RESTARTS Podman service restarts among them (small 1, full 3)
 *   CHAOS_FUZZ            fuzzed StartTasks (small 120, full 10000)
 *   CHAOS_MEMORY_STARTS   failing StartTasks between two memory readings (small 150, full 3000)
 */
const profile = process.env.CHAOS_PROFILE === "full" ? "full" : "small"

const count = (name: string, small: number, full: number): number => {
  const v = process.env[name]
  const n = v === undefined || v === "" ? (profile === "full" ? full : small) : Number(v)
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be a non-negative integer, got ${v}`)
  return n
}

export const settings = {
  profile,
  seed: count("CHAOS_SEED", 13, 13),
  lifecycles: count("CHAOS_LIFECYCLES", 12, 500),
  concurrency: Math.max(1, count("CHAOS_CONCURRENCY", 4, 8)),
  pluginKills: count("CHAOS_PLUGIN_KILLS", 2, 10),
  podmanRestarts: count("CHAOS_PODMAN_RESTARTS", 1, 3),
  fuzz: count("CHAOS_FUZZ", 120, 10_000),
  memoryStarts: count("CHAOS_MEMORY_STARTS", 150, 3000)
} as const
