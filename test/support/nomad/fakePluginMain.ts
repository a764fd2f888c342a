/**
 * A plugin process serving the FAKE Driver (test/support/nomad/FakeDriver.ts) through the real
 * runPlugin: used to test process behaviour (cookie, handshake, signals, Shutdown) without Podman.
 */
import { Effect } from "effect"
import { runPlugin } from "../../../layers/nomad-rpc/index.ts"
import { fakeAppLayer } from "./FakeDriver.ts"

const app = await Effect.runPromise(fakeAppLayer)
await runPlugin(app.layer)
