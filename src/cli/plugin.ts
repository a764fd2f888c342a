/**
 * Plugin mode: Nomad started this executable (its magic cookie is in the environment). The gRPC
 * server, the go-plugin handshake and the Nomad services live in layers/nomad-rpc; the driver
 * stack in layers/stacks.ts. Both are imported lazily so the human CLI never pays for them.
 *
 * Nothing here writes to stdout: the handshake line must be the first thing on it.
 */

/** go-plugin's magic cookie for Nomad plugins (docs/protocol.md#handshake). */
export const MAGIC_COOKIE_KEY = "NOMAD_PLUGIN_MAGIC_COOKIE"
export const MAGIC_COOKIE_VALUE = "e4327c2e01eabfd75a8a67adb114fb34a757d57eee7728d857a8cec6e91a7255"

/** Serves the plugin until Nomad stops it. */
export const servePlugin = async (): Promise<void> => {
  const [rpc, layers] = await Promise.all([
    import("../../layers/nomad-rpc/index.ts"),
    import("../../layers/stacks.ts")
  ])
  await rpc.runPlugin(layers.pluginLayer)
}
