/**
 * The io.podman (Podman 1.x/2.x varlink) transport: `makeVarlinkClient` builds a `PodmanClient`
 * for `varlink:unix:…` / `varlink:tcp:…` addresses.
 */
export { makeVarlinkClient, signalToNumber, varlinkCapabilities, varlinkProtocolAddress, type VarlinkPodmanOptions } from "./VarlinkPodmanClient.ts"
export { classifyVarlink } from "./classify.ts"
export { type IoPodmanCreate, toIoPodmanCreate } from "./createMapping.ts"
export { encodeExecFrame, ExecDest, type ExecFrame, ExecFrameDecoder, exitPayload } from "./execFrames.ts"
export { IO_PODMAN_SUBSET, ioPodmanSubset } from "./ioPodmanSubset.ts"
