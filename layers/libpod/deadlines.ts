/**
 * Deadlines of Podman calls, shared by both transports. Every call has one: the plugin's
 * `client_http_timeout` for calls whose work can legitimately take long (create, start, stop,
 * remove, exec), and at most CHEAP_CALL_MILLIS for calls that only read Podman's state (ping,
 * inspect, exists, list, kill). A call past its deadline fails with reason Timeout and takes
 * nothing else with it: no connection pool, lock or shared fetch waits on it (docs/podman.md,
 * "Deadlines").
 */

/** The longest a state-reading call may take. Podman answers them in milliseconds; longer means wedged. */
export const CHEAP_CALL_MILLIS = 15_000

/** The deadline of a cheap call on a client whose deadline is `timeoutMillis`. */
export const cheapDeadline = (timeoutMillis: number): number => Math.min(timeoutMillis, CHEAP_CALL_MILLIS)
