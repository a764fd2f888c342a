/**
 * TEST-ONLY: an io.podman (Podman 1.x/2.x varlink) service SUBSET, served on a unix socket by a
 * node:net server, implemented by calling the REAL Podman REST service of the test run
 * (PODMAN_SOCKET). Podman 4 no longer ships varlink; this stands in for it so the varlink transport
 * can be proved against real containers. Never shipped.
 *
 * It speaks the varlink protocol itself (NUL-terminated JSON, `more`, `oneway`, `upgrade`), serves
 * org.varlink.service (GetInfo, GetInterfaceDescription), and validates every io.podman call
 * against the subset description before running it. Behaviour follows Podman's pkg/varlinkapi:
 * ErrCtrStopped on stopping a stopped container, an empty LogLine ending a log stream, the framed
 * exec stream with a little-endian exit code. Create flags it does not translate fail with
 * ErrorOccurred naming the flag (so a test notices instead of silently losing an option).
 */
import * as http from "node:http"
import * as net from "node:net"
import { readFileSync, rmSync } from "node:fs"
import { validateCall } from "../../../layers/varlink/VarlinkClient.ts"
import { IO_PODMAN_SUBSET, ioPodmanSubset } from "../../../layers/podman-varlink/ioPodmanSubset.ts"
import { encodeExecFrame, ExecDest, ExecFrameDecoder, exitPayload } from "../../../layers/podman-varlink/execFrames.ts"

type Params = Record<string, any>

/** An error reply. */
class Reply extends Error {
  constructor(readonly error: string, readonly parameters: Params = {}) {
    super(error)
  }
}

interface Call {
  readonly method: string
  readonly parameters: Params
  readonly more: boolean
  readonly oneway: boolean
  readonly upgrade: boolean
}

interface Responder {
  /** A reply; `continues` only when the call asked for more. */
  reply(parameters: Params, continues?: boolean): void
  /** After the final reply of an upgrade call: the raw socket. */
  readonly socket: net.Socket
  readonly call: Call
}

const API = "/v4.0.0/libpod"

/** Minimal REST client over the Podman unix socket. */
class Rest {
  constructor(private readonly socketPath: string) {}

  request(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; text: string }> {
    return new Promise((resolve, reject) => {
      const payload = body === undefined ? undefined : Buffer.isBuffer(body) ? body : Buffer.from(JSON.stringify(body))
      const req = http.request({
        socketPath: this.socketPath,
        method,
        path: API + path,
        headers: { ...(payload ? { "content-type": Buffer.isBuffer(body) ? "application/x-tar" : "application/json", "content-length": String(payload.length) } : {}), ...headers }
      }, (res) => {
        const chunks: Array<Buffer> = []
        res.on("data", (c: Buffer) => chunks.push(c))
        res.on("end", () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString("utf8") }))
        res.on("error", reject)
      })
      req.on("error", reject)
      req.end(payload)
    })
  }

  stream(method: string, path: string): Promise<http.IncomingMessage> {
    return new Promise((resolve, reject) => {
      const req = http.request({ socketPath: this.socketPath, method, path: API + path }, resolve)
      req.on("error", reject)
      req.end()
    })
  }

  /** POST with `Connection: Upgrade` (exec start): the raw socket after 101. */
  upgrade(path: string, body: unknown): Promise<net.Socket> {
    return new Promise((resolve, reject) => {
      const payload = Buffer.from(JSON.stringify(body))
      const req = http.request({
        socketPath: this.socketPath,
        method: "POST",
        path: API + path,
        headers: { connection: "Upgrade", upgrade: "tcp", "content-type": "application/json", "content-length": String(payload.length) }
      })
      req.on("upgrade", (_res, socket, head) => {
        if (head.length > 0) socket.unshift(head)
        resolve(socket)
      })
      req.on("response", (res) => reject(new Error(`exec start answered ${res.statusCode} instead of 101`)))
      req.on("error", reject)
      req.end(payload)
    })
  }
}

const json = (text: string): any => {
  try {
    return JSON.parse(text)
  } catch {
    return {}
  }
}
const errText = (text: string) => (json(text).cause || json(text).message || text).toString()
const enc = encodeURIComponent

/** Maps a failed REST answer onto io.podman's error replies. */
const restError = (status: number, text: string, id: string, kind: "container" | "image" = "container"): Reply => {
  const reason = errText(text)
  if (status === 404) return new Reply(kind === "image" ? "io.podman.ImageNotFound" : "io.podman.ContainerNotFound", { id, reason })
  if (/state improper|can only kill running|not running/i.test(reason)) return new Reply("io.podman.InvalidState", { id, reason })
  return new Reply("io.podman.ErrorOccurred", { reason })
}

/** io.podman Create → libpod SpecGenerator, for the flags this test service knows. */
const toSpec = (create: Params): Params => {
  const [image, ...command] = create.args as Array<string>
  const spec: Params = { image, ...(command.length > 0 ? { command } : {}) }
  const pairs = (xs: Array<string> | undefined) =>
    Object.fromEntries((xs ?? []).map((x) => [x.slice(0, x.indexOf("=") < 0 ? x.length : x.indexOf("=")), x.indexOf("=") < 0 ? "" : x.slice(x.indexOf("=") + 1)]))
  for (const [flag, value] of Object.entries(create)) {
    if (value === undefined || value === null || flag === "args") continue
    switch (flag) {
      case "name": spec.name = value; break
      case "detach": break
      case "env": spec.env = pairs(value); break
      case "label": spec.labels = pairs(value); break
      case "annotation": spec.annotations = pairs(value); break
      case "workDir": spec.work_dir = value; break
      case "hostname": spec.hostname = value; break
      case "user": spec.user = value; break
      case "tty": spec.terminal = value; break
      case "init": spec.init = value; break
      case "privileged": spec.privileged = value; break
      case "readonly": spec.read_only_filesystem = value; break
      case "capAdd": spec.cap_add = value; break
      case "capDrop": spec.cap_drop = value; break
      case "entrypoint": spec.entrypoint = String(value).startsWith("[") ? JSON.parse(value) : [value]; break
      case "stopSignal": spec.stop_signal = Number(value); break
      case "stopTimeout": spec.stop_timeout = value; break
      case "memory": (spec.resource_limits ??= {}).memory = { ...spec.resource_limits.memory, limit: Number(value) }; break
      case "cpuShares": (spec.resource_limits ??= {}).cpu = { ...spec.resource_limits.cpu, shares: value }; break
      case "pidsLimit": (spec.resource_limits ??= {}).pids = { limit: value }; break
      case "ulimit":
        spec.r_limits = (value as Array<string>).map((u) => {
          const [type, limits] = u.split("=") as [string, string]
          const [soft, hard] = limits.split(":")
          return { type, soft: Number(soft), hard: Number(hard ?? soft) }
        })
        break
      case "network": {
        const v = String(value)
        const mode = v.includes(":") ? v.slice(0, v.indexOf(":")) : v
        if (["bridge", "host", "none", "private", "slirp4netns", "pasta", "container", "ns"].includes(mode)) {
          spec.netns = v.includes(":") ? { nsmode: mode, value: v.slice(v.indexOf(":") + 1) } : { nsmode: v }
        } else {
          // a comma-separated list of named networks
          spec.netns = { nsmode: "bridge" }
          spec.Networks = Object.fromEntries(v.split(",").map((name) => [name, {}]))
        }
        break
      }
      case "ip": case "macAddress": {
        const nets = Object.keys(spec.Networks ?? {})
        if (nets.length !== 1) throw new Reply("io.podman.ErrorOccurred", { reason: `test service: ${flag} needs exactly one named network, given before it` })
        spec.Networks[nets[0]!] = { ...spec.Networks[nets[0]!], ...(flag === "ip" ? { static_ips: [value] } : { static_mac: value }) }
        break
      }
      case "initPath": spec.init_path = value; break
      case "logDriver": (spec.log_configuration ??= {}).driver = value; break
      case "logOpt": {
        const opts = pairs(value)
        const { path: logPath, "max-size": maxSize, ...rest } = opts
        spec.log_configuration = {
          ...(spec.log_configuration ?? {}),
          ...(logPath ? { path: logPath } : {}),
          ...(maxSize ? { size: Number(maxSize) } : {}),
          ...(Object.keys(rest).length ? { options: rest } : {})
        }
        break
      }
      case "securityOpt":
        for (const o of value as Array<string>) {
          if (o === "no-new-privileges") spec.no_new_privileges = true
          else if (o.startsWith("label=")) (spec.selinux_opts ??= []).push(o.slice(6))
          else if (o.startsWith("apparmor=")) spec.apparmor_profile = o.slice(9)
          else if (o.startsWith("seccomp=")) spec.seccomp_profile_path = o.slice(8)
          else if (o.startsWith("mask=")) spec.mask = o.slice(5).split(":")
          else if (o.startsWith("unmask=")) spec.unmask = o.slice(7).split(":")
          else throw new Reply("io.podman.ErrorOccurred", { reason: `test service does not translate security option ${o}` })
        }
        break
      case "volume":
        for (const v of value as Array<string>) {
          const [source, destination, opts] = v.split(":") as [string, string, string?]
          ;(spec.mounts ??= []).push({ type: "bind", source, destination, options: opts ? opts.split(",") : ["rbind"] })
        }
        break
      case "tmpfs":
        for (const v of value as Array<string>) {
          const [destination, opts] = v.split(":") as [string, string?]
          ;(spec.mounts ??= []).push({ type: "tmpfs", source: "tmpfs", destination, options: opts ? opts.split(",") : [] })
        }
        break
      case "memoryReservation": (spec.resource_limits ??= {}).memory = { ...spec.resource_limits.memory, reservation: Number(value) }; break
      case "memorySwap": (spec.resource_limits ??= {}).memory = { ...spec.resource_limits.memory, swap: Number(value) }; break
      case "memorySwappiness": (spec.resource_limits ??= {}).memory = { ...spec.resource_limits.memory, swappiness: value }; break
      case "cpuQuota": (spec.resource_limits ??= {}).cpu = { ...spec.resource_limits.cpu, quota: value }; break
      case "cpuPeriod": (spec.resource_limits ??= {}).cpu = { ...spec.resource_limits.cpu, period: value }; break
      case "cpuSetCpus": (spec.resource_limits ??= {}).cpu = { ...spec.resource_limits.cpu, cpus: value }; break
      case "oomScoreAdj": spec.oom_score_adj = value; break
      case "shmSize": spec.shm_size = Number(value); break
      case "sysctl": spec.sysctl = pairs(value); break
      case "dns": spec.dns_server = value; break
      case "dnsSearch": spec.dns_search = value; break
      case "dnsOpt": spec.dns_option = value; break
      case "addHost": spec.hostadd = value; break
      case "device": spec.devices = (value as Array<string>).map((p) => ({ path: p })); break
      case "cgroupParent": spec.cgroup_parent = value; break
      case "ipc": {
        const v = String(value)
        spec.ipcns = v.includes(":") ? { nsmode: v.slice(0, v.indexOf(":")), value: v.slice(v.indexOf(":") + 1) } : { nsmode: v }
        break
      }
      case "userns": {
        const v = String(value)
        spec.userns = v.includes(":") ? { nsmode: v.slice(0, v.indexOf(":")), value: v.slice(v.indexOf(":") + 1) } : { nsmode: v }
        break
      }
      case "publish":
        spec.portmappings = (value as Array<string>).map((p) => {
          const [ports, protocol = "tcp"] = p.split("/") as [string, string?]
          const parts = ports.split(":")
          const container_port = Number(parts[parts.length - 1])
          const host_port = parts.length >= 2 && parts[parts.length - 2] !== "" ? Number(parts[parts.length - 2]) : 0
          return { container_port, host_port, ...(parts.length === 3 && parts[0] !== "" ? { host_ip: parts[0] } : {}), protocol }
        })
        break
      default:
        throw new Reply("io.podman.ErrorOccurred", { reason: `test service does not translate Create flag ${flag}` })
    }
  }
  return spec
}

/** Splits libpod's 8-byte framed stream ([stream, 0,0,0, len BE]) into frames. */
class LibpodFrames {
  private buf = Buffer.alloc(0)
  push(chunk: Buffer): Array<{ stream: number; data: Buffer }> {
    this.buf = Buffer.concat([this.buf, chunk])
    const out: Array<{ stream: number; data: Buffer }> = []
    while (this.buf.length >= 8) {
      const len = this.buf.readUInt32BE(4)
      if (this.buf.length < 8 + len) break
      out.push({ stream: this.buf[0]!, data: this.buf.subarray(8, 8 + len) })
      this.buf = this.buf.subarray(8 + len)
    }
    return out
  }
}

export interface PodmanVarlinkService {
  /** `unix:/…/io.podman.sock` (the varlink address, without the `varlink:` prefix). */
  readonly address: string
  /** Calls served so far, by method (for tests that want to see the traffic). */
  readonly calls: ReadonlyArray<string>
  readonly close: () => Promise<void>
}

/** Starts the test service on `socketPath`, backed by the Podman REST socket `podmanSocket` (`unix:///…` or a path). */
export const startPodmanVarlinkService = async (socketPath: string, podmanSocket: string): Promise<PodmanVarlinkService> => {
  const rest = new Rest(podmanSocket.replace(/^unix:\/\//, ""))
  const known = new Map([[ioPodmanSubset.name, ioPodmanSubset]])
  const calls: Array<string> = []
  const sockets = new Set<net.Socket>()

  const methods: Record<string, (p: Params, r: Responder) => Promise<Params | undefined>> = {
    GetVersion: async () => {
      const v = json((await rest.request("GET", "/version")).text)
      return { version: v.Version ?? "", go_version: v.GoVersion ?? "", git_commit: v.GitCommit ?? "", built: "", os_arch: v.Os && v.Arch ? `${v.Os}/${v.Arch}` : "", remote_api_version: 1 }
    },
    GetInfo: async () => {
      const i = json((await rest.request("GET", "/info")).text)
      const h = i.host ?? {}
      return {
        info: {
          host: {
            buildah_version: h.buildahVersion ?? "", distribution: { distribution: h.distribution?.distribution ?? "", version: h.distribution?.version ?? "" },
            mem_free: h.memFree ?? 0, mem_total: h.memTotal ?? 0, swap_free: h.swapFree ?? 0, swap_total: h.swapTotal ?? 0, arch: h.arch ?? "",
            cpus: h.cpus ?? 0, hostname: h.hostname ?? "", kernel: h.kernel ?? "", os: h.os ?? "", uptime: h.uptime ?? "", eventlogger: h.eventLogger ?? ""
          },
          registries: { search: [], insecure: [], blocked: [] },
          store: { containers: 0, images: 0, graph_driver_name: "", graph_driver_options: "", graph_root: "", graph_status: { backing_filesystem: "", native_overlay_diff: "", supports_d_type: "" }, run_root: "" },
          podman: { compiler: "", go_version: "", podman_version: i.version?.Version ?? "", git_commit: "" }
        }
      }
    },
    ImageExists: async (p) => ({ exists: (await rest.request("GET", `/images/${enc(p.name)}/exists`)).status === 204 ? 0 : 1 }),
    InspectImage: async (p) => {
      const r = await rest.request("GET", `/images/${enc(p.name)}/json`)
      if (r.status !== 200) throw restError(r.status, r.text, p.name, "image")
      return { image: r.text }
    },
    PullImage: async (p, r) => {
      const headers: Record<string, string> = {}
      if (p.creds?.username) {
        headers["x-registry-auth"] = Buffer.from(JSON.stringify({ username: p.creds.username, password: p.creds.password })).toString("base64").replace(/\+/g, "-").replace(/\//g, "_")
      }
      // the registry of the sandbox is plain HTTP: the test service pulls with tlsVerify=false
      const res = await rest.request("POST", `/images/pull?reference=${enc(p.name)}&tlsVerify=false`, undefined, headers)
      let id = ""
      for (const line of res.text.split("\n").filter((l) => l.trim() !== "")) {
        const j = json(line)
        if (j.error) throw new Reply("io.podman.ErrorOccurred", { reason: j.error })
        if (j.stream && r.call.more) r.reply({ reply: { logs: [j.stream], id: "" } }, true)
        if (j.id) id = j.id
      }
      if (res.status !== 200) throw new Reply("io.podman.ErrorOccurred", { reason: errText(res.text) })
      return { reply: { logs: [], id } }
    },
    LoadImage: async (p) => {
      const res = await rest.request("POST", "/images/load", readFileSync(p.inputFile))
      if (res.status !== 200) throw new Reply("io.podman.ErrorOccurred", { reason: errText(res.text) })
      return { reply: { logs: [], id: (json(res.text).Names ?? [])[0] ?? "" } }
    },
    CreateContainer: async (p) => {
      if (process.env.PVL_DEBUG) console.error("CREATE", JSON.stringify(p.create))
      const res = await rest.request("POST", "/containers/create", toSpec(p.create))
      if (res.status !== 201) throw new Reply("io.podman.ErrorOccurred", { reason: errText(res.text) })
      return { container: json(res.text).Id }
    },
    StartContainer: async (p) => {
      const res = await rest.request("POST", `/containers/${enc(p.name)}/start`)
      if (res.status >= 300 && res.status !== 304) throw restError(res.status, res.text, p.name)
      return { container: p.name }
    },
    WaitContainer: async (p) => {
      const res = await rest.request("POST", `/containers/${enc(p.name)}/wait?condition=stopped&interval=${Math.max(10, p.interval)}ms`)
      if (res.status !== 200) throw restError(res.status, res.text, p.name)
      return { exitcode: Number(res.text.trim()) }
    },
    InspectContainer: async (p) => {
      const res = await rest.request("GET", `/containers/${enc(p.name)}/json`)
      if (res.status !== 200) throw restError(res.status, res.text, p.name)
      return { container: res.text }
    },
    ContainerExists: async (p) => ({ exists: (await rest.request("GET", `/containers/${enc(p.name)}/exists`)).status === 204 ? 0 : 1 }),
    ListContainers: async () => {
      const list = json((await rest.request("GET", "/containers/json?all=true")).text) as Array<any>
      return {
        containers: list.map((c) => ({
          id: c.Id, image: c.Image ?? "", imageid: c.ImageID ?? "", command: c.Command ?? [], createdat: String(c.Created ?? ""), runningfor: "",
          status: c.State ?? "", ports: [], rootfssize: 0, rwsize: 0, names: (c.Names ?? []).join(","), labels: c.Labels ?? {}, mounts: [],
          containerrunning: c.State === "running",
          namespaces: { user: "", uts: "", pidns: "", pid: "", cgroup: "", net: "", mnt: "", ipc: "" }
        }))
      }
    },
    StopContainer: async (p) => {
      const res = await rest.request("POST", `/containers/${enc(p.name)}/stop?timeout=${p.timeout}`)
      if (res.status === 304) throw new Reply("io.podman.ErrCtrStopped", { id: p.name })
      if (res.status >= 300) throw restError(res.status, res.text, p.name)
      return { container: p.name }
    },
    KillContainer: async (p) => {
      const res = await rest.request("POST", `/containers/${enc(p.name)}/kill?signal=${p.signal}`)
      if (res.status >= 300) throw restError(res.status, res.text, p.name)
      return { container: p.name }
    },
    RemoveContainer: async (p) => {
      const res = await rest.request("DELETE", `/containers/${enc(p.name)}?force=${p.force}&v=${p.removeVolumes}&timeout=0`)
      if (res.status >= 300) throw restError(res.status, res.text, p.name)
      return { container: p.name }
    },
    GetContainersLogs: async (p, r) => {
      if (!r.call.more) throw new Reply("io.podman.WantsMoreRequired", { reason: "GetContainersLogs needs more" })
      const name = p.names[0]
      // timestamps: each REST frame starts with its record's time (whole seconds), the LogLine's `time`
      const q = `follow=${p.follow}&stdout=true&stderr=true&timestamps=true${p.tail >= 0 ? `&tail=${p.tail}` : ""}${p.since ? `&since=${enc(p.since)}` : ""}`
      const res = await rest.stream("GET", `/containers/${enc(name)}/logs?${q}`)
      if (res.statusCode !== 200) {
        const chunks: Array<Buffer> = []
        for await (const c of res) chunks.push(c as Buffer)
        throw restError(res.statusCode ?? 0, Buffer.concat(chunks).toString(), name)
      }
      const frames = new LibpodFrames()
      r.socket.once("close", () => res.destroy())
      for await (const chunk of res) {
        for (const f of frames.push(chunk as Buffer)) {
          const stamped = f.data.toString("utf8")
          const space = stamped.indexOf(" ")
          const text = stamped.slice(space + 1)
          const full = text.endsWith("\n")
          r.reply({
            log: { device: f.stream === 2 ? "stderr" : "stdout", parseLogType: full ? "F" : "P", time: stamped.slice(0, space), msg: full ? text.slice(0, -1) : text, cid: name }
          }, true)
        }
      }
      return { log: { device: "", parseLogType: "", time: "", msg: "", cid: "" } }
    },
    GetContainerStats: async (p) => {
      const inspect = await rest.request("GET", `/containers/${enc(p.name)}/json`)
      if (inspect.status !== 200) throw restError(inspect.status, inspect.text, p.name)
      if (json(inspect.text).State?.Running !== true) throw new Reply("io.podman.NoContainerRunning")
      const s = json((await rest.request("GET", `/containers/stats?containers=${enc(p.name)}&stream=false`)).text).Stats?.[0] ?? {}
      return {
        container: {
          id: s.ContainerID ?? "", name: s.Name ?? "", cpu: s.CPU ?? 0, cpu_nano: s.CPUNano ?? 0, system_nano: s.SystemNano ?? 0, mem_usage: s.MemUsage ?? 0,
          mem_limit: s.MemLimit ?? 0, mem_perc: s.MemPerc ?? 0, net_input: s.NetInput ?? 0, net_output: s.NetOutput ?? 0,
          block_output: s.BlockOutput ?? 0, block_input: s.BlockInput ?? 0, pids: s.PIDs ?? 0
        }
      }
    },
    GetEvents: async (p, r) => {
      if (!r.call.more) throw new Reply("io.podman.WantsMoreRequired", { reason: "GetEvents needs more" })
      // podman-events style filters ("container=x", "type=container", "event=died", "label=k=v") → libpod filters
      const filters: Record<string, Array<string>> = {}
      for (const f of p.filter as Array<string>) {
        const eq = f.indexOf("=")
        if (eq > 0) (filters[f.slice(0, eq)] ??= []).push(f.slice(eq + 1))
      }
      const q = `stream=true&filters=${enc(JSON.stringify(filters))}${p.since ? `&since=${enc(p.since)}` : ""}${p.until ? `&until=${enc(p.until)}` : ""}`
      const res = await rest.stream("GET", `/events?${q}`)
      r.socket.once("close", () => res.destroy())
      let buf = ""
      try {
        for await (const chunk of res) {
          buf += (chunk as Buffer).toString("utf8")
          let nl: number
          while ((nl = buf.indexOf("\n")) >= 0) {
            const e = json(buf.slice(0, nl))
            buf = buf.slice(nl + 1)
            if (!e.Type) continue
            const attrs = e.Actor?.Attributes ?? {}
            r.reply({
              events: {
                id: e.Actor?.ID ?? e.id ?? "", image: attrs.image ?? "", name: attrs.name ?? "", status: e.Action ?? e.status ?? "",
                time: new Date(Number(e.timeNano ?? 0) / 1e6 || Number(e.time ?? 0) * 1000).toISOString(), type: e.Type
              }
            }, true)
          }
        }
      } catch {
        // the client went away
      }
      return { events: { id: "", image: "", name: "", status: "", time: "", type: "" } }
    },
    ExecContainer: async (p, r) => {
      if (!r.call.upgrade) throw new Reply("io.podman.ErrorOccurred", { reason: "client must use upgraded connection to exec" })
      const o = p.opts
      const inspect = await rest.request("GET", `/containers/${enc(o.name)}/json`)
      if (inspect.status !== 200) throw restError(inspect.status, inspect.text, o.name)
      if (json(inspect.text).State?.Running !== true) throw new Reply("io.podman.ErrorOccurred", { reason: `exec requires a running container, ${o.name} is not running` })
      const created = await rest.request("POST", `/containers/${enc(o.name)}/exec`, {
        Cmd: o.cmd, AttachStdin: true, AttachStdout: true, AttachStderr: true, Tty: o.tty, Privileged: o.privileged,
        ...(o.env ? { Env: o.env } : {}), ...(o.workdir ? { WorkingDir: o.workdir } : {}), ...(o.user ? { User: o.user } : {})
      })
      if (created.status !== 201) throw new Reply("io.podman.ErrorOccurred", { reason: errText(created.text) })
      const execId = json(created.text).Id as string
      const upstream = await rest.upgrade(`/exec/${execId}/start`, { Detach: false, Tty: o.tty })
      r.reply({}) // ACK the upgrade: from here on the connection carries frames
      const client = r.socket
      const decoder = new ExecFrameDecoder()
      client.on("data", (chunk: Buffer) => {
        for (const f of decoder.push(chunk)) {
          if (f.dest === ExecDest.Stdin) upstream.write(f.payload)
          else if (f.dest === ExecDest.Resize) {
            const size = json(Buffer.from(f.payload).toString())
            void rest.request("POST", `/exec/${execId}/resize?h=${size.Height}&w=${size.Width}`)
          }
        }
      })
      client.on("close", () => upstream.destroy())
      const frames = new LibpodFrames()
      upstream.on("data", (chunk: Buffer) => {
        if (o.tty) client.write(encodeExecFrame(ExecDest.Stdout, chunk))
        else for (const f of frames.push(chunk)) client.write(encodeExecFrame(f.stream === 2 ? ExecDest.Stderr : ExecDest.Stdout, f.data))
      })
      upstream.on("close", async () => {
        const info = json((await rest.request("GET", `/exec/${execId}/json`)).text)
        client.end(encodeExecFrame(ExecDest.Exit, exitPayload(Number(info.ExitCode ?? 126))))
      })
      return undefined
    }
  }

  const handle = async (socket: net.Socket, call: Call, write: (m: Params) => void): Promise<"upgraded" | void> => {
    calls.push(call.method)
    const responder: Responder = {
      call,
      socket,
      reply: (parameters, continues = false) => {
        if (call.oneway) return
        write({ parameters, ...(continues && call.more ? { continues: true } : {}) })
      }
    }
    try {
      if (call.method === "org.varlink.service.GetInfo") {
        responder.reply({ vendor: "nomad-driver-podman tests", product: "io.podman test service", version: "1", url: "", interfaces: ["org.varlink.service", "io.podman"] })
        return
      }
      if (call.method === "org.varlink.service.GetInterfaceDescription") {
        if (call.parameters.interface !== "io.podman") throw new Reply("org.varlink.service.InvalidParameter", { parameter: "interface" })
        responder.reply({ description: IO_PODMAN_SUBSET })
        return
      }
      const dot = call.method.lastIndexOf(".")
      const iface = call.method.slice(0, dot)
      if (iface !== "io.podman") throw new Reply("org.varlink.service.InterfaceNotFound", { interface: iface })
      const invalid = validateCall(known, call.method, call.parameters)
      if (invalid) throw new Reply(invalid.error, invalid.parameters as Params)
      const impl = methods[call.method.slice(dot + 1)]
      if (!impl) throw new Reply("org.varlink.service.MethodNotImplemented", { method: call.method.slice(dot + 1) })
      const result = await impl(call.parameters, responder)
      if (result === undefined) return "upgraded"
      responder.reply(result)
    } catch (e) {
      if (call.oneway) return
      if (e instanceof Reply) write({ error: e.error, parameters: e.parameters })
      else write({ error: "io.podman.ErrorOccurred", parameters: { reason: String(e) } })
    }
  }

  const server = net.createServer((socket) => {
    sockets.add(socket)
    socket.on("close", () => sockets.delete(socket))
    socket.on("error", () => {})
    let pending = Buffer.alloc(0)
    let queue: Promise<unknown> = Promise.resolve()
    let upgraded = false
    const write = (m: Params) => {
      if (!socket.destroyed) socket.write(Buffer.concat([Buffer.from(JSON.stringify(m)), Buffer.from([0])]))
    }
    const onData = (chunk: Buffer) => {
      if (upgraded) return
      pending = Buffer.concat([pending, chunk])
      let nul: number
      while (!upgraded && (nul = pending.indexOf(0)) >= 0) {
        const text = pending.subarray(0, nul).toString("utf8")
        pending = pending.subarray(nul + 1)
        const m = json(text)
        const call: Call = { method: String(m.method ?? ""), parameters: m.parameters ?? {}, more: m.more === true, oneway: m.oneway === true, upgrade: m.upgrade === true }
        if (call.upgrade) {
          // the rest of this connection belongs to the upgraded call
          upgraded = true
          socket.off("data", onData)
          const rest = pending
          queue = queue.then(() => handle(socket, call, write)).then(() => {
            if (rest.length > 0) socket.emit("data", rest)
          })
          return
        }
        queue = queue.then(() => handle(socket, call, write))
      }
    }
    socket.on("data", onData)
  })
  rmSync(socketPath, { force: true })
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject)
    server.listen(socketPath, resolve)
  })
  return {
    address: `unix:${socketPath}`,
    calls,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy()
        server.close(() => resolve())
      })
  }
}
