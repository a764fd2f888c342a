/**
 * Our own varlink protocol client (there is none on npm): addresses, one connection, a pooled
 * client, and the interface description language.
 */
export * from "./VarlinkAddress.ts"
export * from "./VarlinkErrors.ts"
export * from "./VarlinkClient.ts"
export * from "./VarlinkConnection.ts"
export * from "./VarlinkIdl.ts"
