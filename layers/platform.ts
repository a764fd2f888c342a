/**
 * The Node implementations of Effect's platform services the driver core uses: the file system
 * (registry auth files; host files go through layers/host-files) and process spawning (registry
 * credential helpers).
 */
import { Layer } from "effect"
import * as NodeChildProcessSpawner from "@effect/platform-node/NodeChildProcessSpawner"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as NodePath from "@effect/platform-node/NodePath"

export const layer = NodeChildProcessSpawner.layer.pipe(
  Layer.provideMerge(Layer.mergeAll(NodeFileSystem.layer, NodePath.layer))
)
