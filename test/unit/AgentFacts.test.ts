/** Node facts from SetConfig's nomad_config: the core speed that turns CPU percent into MHz. */
import { describe, expect, it } from "vitest"
import { topologyMhzPerCore } from "../../layers/nomad-rpc/handlers.ts"
import { ClientTopology } from "../../proto/gen/plugins/base/proto/base.ts"

describe("topologyMhzPerCore", () => {
  it("averages the usable cores' speeds (base, else guessed, else max), skipping disabled cores", () => {
    const t = ClientTopology.fromPartial({
      cores: [
        { coreId: 0, baseSpeed: 2000 },
        { coreId: 1, guessSpeed: 3000 },
        { coreId: 2, maxSpeed: 4000 },
        { coreId: 3, baseSpeed: 9999, disable: true }
      ]
    })
    expect(topologyMhzPerCore(t)).toBe(3000)
  })
  it("is 0 when nothing is known", () => {
    expect(topologyMhzPerCore(ClientTopology.fromPartial({}))).toBe(0)
    expect(topologyMhzPerCore(ClientTopology.fromPartial({ cores: [{ coreId: 0 }] }))).toBe(0)
  })
})
