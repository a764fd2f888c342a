/**
 * The libpod JSON mapping shared by both transports (libpod REST and io.podman, whose inspect
 * methods return libpod's JSON text): Schemas of the answers, their decoding into domain values,
 * the kinds of Podman's error texts, the classification of pull errors, and the recovery of
 * followed logs. Owned by neither transport; neither transport imports the other.
 */
export * from "./deadlines.ts"
export * from "./decode.ts"
export * from "./errorText.ts"
export * from "./logsRecovery.ts"
export * from "./pullErrors.ts"
export * as LibpodSchemas from "./schemas.ts"
