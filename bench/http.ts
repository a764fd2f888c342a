/**
 * What one libpod call costs this process in CPU: an inspect of a container through the REST
 * transport's HTTP core (layers/podman-rest/http.ts, the call's timeout and status check
 * included), on a unix socket straight through node:http (what the transport does) and through
 * Effect's HttpClient (what it does for a URL), beside the bare request with plain `node:http`. The
 * plugin makes three to four such calls per StartTask. Runs against a private Podman service
 * (test/support/sandbox.sh); the median of 5 rounds of CALLS inspects each (default 300), the
 * three ways taking turns.
 *
 *   npx tsx bench/http.ts
 */
import * as http from "node:http"
import { Effect } from "effect"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { Http } from "../layers/podman-rest/http.ts"
import { BUSYBOX, makeRaw, median, startSandbox } from "./support.ts"

const calls = Number(process.env.CALLS ?? 300)
const cpuMillis = () => {
  const u = process.cpuUsage()
  return (u.user + u.system) / 1000
}

const sandbox = startSandbox()
try {
  const raw = makeRaw(sandbox.socketPath)
  const created = await raw.request("POST", "/containers/create", { image: BUSYBOX, command: ["/bin/true"], name: "http-bench" })
  const id = JSON.parse(created.text).Id as string
  const agent = new http.Agent({ keepAlive: true })
  const plain = () =>
    new Promise<void>((resolve, reject) => {
      http.get({ agent, socketPath: sandbox.socketPath, path: `/v4.0.0/libpod/containers/${id}/json` }, (res) => {
        let text = ""
        res.setEncoding("utf8")
        res.on("data", (d: string) => (text += d))
        res.on("end", () => resolve(void JSON.parse(text)))
      }).on("error", reject)
    })
  const results = await Effect.runPromise(Effect.scoped(Effect.gen(function*() {
    const effectAgent = yield* NodeHttpClient.makeAgent({ socketPath: sandbox.socketPath, keepAlive: true })
    const client = yield* NodeHttpClient.makeNodeHttp.pipe(Effect.provideService(NodeHttpClient.HttpAgent, effectAgent))
    const spec = { method: "GET", path: `/containers/${id}/json` } as const
    const inspect = (core: Http) => core.call("inspect", spec).pipe(Effect.map((r) => JSON.parse(r.text)))
    const ways: ReadonlyArray<readonly [string, Effect.Effect<unknown, unknown>]> = [
      ["plain node:http", Effect.promise(plain)],
      ["Http.call, node:http", inspect(new Http(client, "http://d", sandbox.socketPath, 30_000, effectAgent.http))],
      ["Http.call, Effect's HttpClient", inspect(new Http(client, "http://d", sandbox.socketPath, 30_000))]
    ]
    const perCall: Record<string, Array<number>> = {}
    for (let round = 0; round < 6; round++) {
      for (const [name, call] of ways) {
        const c0 = cpuMillis()
        for (let i = 0; i < calls; i++) yield* call
        if (round > 0) (perCall[name] ??= []).push((cpuMillis() - c0) / calls)
      }
    }
    return perCall
  })))
  console.log("| way | CPU per inspect |\n|---|---|")
  for (const [name, xs] of Object.entries(results)) console.log(`| ${name} | ${median(xs).toFixed(3)} ms |`)
  await raw.request("DELETE", `/containers/${id}?force=true`)
} finally {
  sandbox.stop()
}
