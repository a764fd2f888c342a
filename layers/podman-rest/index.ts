/**
 * The libpod REST transport (`transport = "rest"`): a `PodmanClient` over Podman's HTTP API on a
 * unix socket or a TCP base URL. See RestClient.ts for the behaviour of each operation.
 */
export { makeRestClient, restCapabilities, type RestClientOptions } from "./RestClient.ts"
export { encodeRegistryAuth } from "./auth.ts"
export { classifyRest, type RestFailure } from "./classify.ts"
export { FrameDemuxer, demuxAll, demuxStream, encodeFrame } from "./frames.ts"
export { parseAddress, type Endpoint } from "./address.ts"
