/**
 * Pure parts of the io.podman transport: ContainerSpec → Create (flags, and an Unsupported reason
 * for what no flag can express), the exec stream framing, and the subset description file.
 */
import { readFileSync } from "node:fs"
import * as path from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { Unsupported } from "../../src/domain/errors.ts"
import type { ContainerSpec } from "../../src/domain/ContainerSpec.ts"
import { checkValue } from "../../layers/varlink/index.ts"
import {
  encodeExecFrame,
  ExecDest,
  ExecFrameDecoder,
  exitPayload,
  IO_PODMAN_SUBSET,
  ioPodmanSubset,
  signalToNumber,
  toIoPodmanCreate,
  varlinkProtocolAddress
} from "../../layers/podman-varlink/index.ts"

const base: ContainerSpec = { name: "web", image: "localhost/httpd:latest", env: {}, labels: {} }
const createType = { kind: "named", name: "Create" } as const

const mapOk = (spec: ContainerSpec) => {
  const c = toIoPodmanCreate(spec)
  if (c instanceof Unsupported) throw new Error(`unexpected: ${c.message}`)
  // whatever we produce must be a valid io.podman Create
  expect(checkValue(ioPodmanSubset, createType, c)).toEqual([])
  return c
}

describe("toIoPodmanCreate", () => {
  it("maps a full spec onto Create flags", () => {
    const c = mapOk({
      ...base,
      command: ["/bin/httpd", "-f"],
      entrypoint: ["/bin/sh", "-c"],
      env: { A: "1", B: "x=y" },
      labels: { team: "web" },
      annotations: { note: "n" },
      work_dir: "/www",
      hostname: "h",
      user: "65534:65534",
      terminal: false,
      init: true,
      init_path: "/usr/bin/catatonit",
      privileged: false,
      read_only_filesystem: true,
      cap_add: ["NET_ADMIN"],
      cap_drop: ["ALL"],
      selinux_opts: ["disable"],
      apparmor_profile: "unconfined",
      seccomp_profile_path: "/s.json",
      no_new_privileges: true,
      mask: ["/proc/a", "/proc/b"],
      userns: { nsmode: "keep-id" },
      ipcns: { nsmode: "container", value: "other" },
      netns: { nsmode: "bridge" },
      Networks: { frontend: { static_ips: ["10.0.0.5"], static_mac: "02:00:00:00:00:01" } },
      shm_size: 67108864,
      sysctl: { "net.core.somaxconn": "1024" },
      r_limits: [{ type: "RLIMIT_NOFILE", soft: 1024, hard: 2048 }, { type: "nproc", soft: 100, hard: 100 }],
      resource_limits: { memory: { limit: 268435456, reservation: 134217728, swap: 536870912, swappiness: 10 }, cpu: { shares: 512, quota: 50000, period: 100000, cpus: "0-1" }, pids: { limit: 64 } },
      oom_score_adj: 100,
      devices: [{ path: "/dev/fuse" }],
      mounts: [
        { type: "bind", source: "/srv/data", destination: "/data", options: ["rbind", "ro"] },
        { type: "tmpfs", source: "tmpfs", destination: "/scratch", options: ["size=64m"] }
      ],
      portmappings: [
        { container_port: 8080, host_port: 18080, host_ip: "127.0.0.1", protocol: "tcp" },
        { container_port: 53, host_port: 5353, protocol: "udp" },
        { container_port: 9000, host_port: 0, protocol: "tcp" },
        { container_port: 9001, host_port: 0, host_ip: "127.0.0.1", protocol: "tcp" }
      ],
      dns_server: ["1.1.1.1"],
      dns_search: ["example.com"],
      dns_option: ["ndots:2"],
      hostadd: ["db:10.0.0.2"],
      log_configuration: { driver: "k8s-file", path: "/var/log/x.log", options: { "max-size": "10m" } },
      stop_signal: 15,
      stop_timeout: 5,
      cgroup_parent: "/nomad",
      healthconfig: { Test: ["CMD-SHELL", "wget -q -O- localhost:8080"] }
    })
    expect(c).toMatchObject({
      args: ["localhost/httpd:latest", "/bin/httpd", "-f"],
      name: "web",
      detach: true,
      entrypoint: "[\"/bin/sh\",\"-c\"]",
      env: ["A=1", "B=x=y"],
      label: ["team=web"],
      annotation: ["note=n"],
      workDir: "/www",
      readonly: true,
      securityOpt: ["label=disable", "apparmor=unconfined", "seccomp=/s.json", "no-new-privileges", "mask=/proc/a:/proc/b"],
      userns: "keep-id",
      ipc: "container:other",
      network: "frontend",
      ip: "10.0.0.5",
      macAddress: "02:00:00:00:00:01",
      shmSize: "67108864",
      sysctl: ["net.core.somaxconn=1024"],
      ulimit: ["nofile=1024:2048", "nproc=100:100"],
      memory: "268435456",
      memoryReservation: "134217728",
      memorySwap: "536870912",
      memorySwappiness: 10,
      cpuShares: 512,
      cpuQuota: 50000,
      cpuPeriod: 100000,
      cpuSetCpus: "0-1",
      pidsLimit: 64,
      oomScoreAdj: 100,
      device: ["/dev/fuse"],
      volume: ["/srv/data:/data:rbind,ro"],
      tmpfs: ["/scratch:size=64m"],
      publish: ["127.0.0.1:18080:8080/tcp", "5353:53/udp", "9000/tcp", "127.0.0.1::9001/tcp"],
      dns: ["1.1.1.1"],
      dnsSearch: ["example.com"],
      dnsOpt: ["ndots:2"],
      addHost: ["db:10.0.0.2"],
      logDriver: "k8s-file",
      logOpt: ["path=/var/log/x.log", "max-size=10m"],
      stopSignal: "15",
      stopTimeout: 5,
      cgroupParent: "/nomad",
      healthcheckCommand: "wget -q -O- localhost:8080"
    })
  })

  it("maps namespaces the way the CLI spells them", () => {
    expect(mapOk({ ...base, netns: { nsmode: "host" } }).network).toBe("host")
    expect(mapOk({ ...base, netns: { nsmode: "none" } }).network).toBe("none")
    expect(mapOk({ ...base, netns: { nsmode: "path", value: "/run/netns/x" } }).network).toBe("ns:/run/netns/x")
    expect(mapOk({ ...base, netns: { nsmode: "slirp4netns", value: "allow_host_loopback=true" } }).network).toBe("slirp4netns:allow_host_loopback=true")
    expect(mapOk({ ...base, idmappings: { AutoUserNs: true, AutoUserNsOpts: { Size: 65536 } } }).userns).toBe("auto:size=65536")
    expect(mapOk({ ...base, healthconfig: { Test: ["CMD", "/bin/check", "-v"] } }).healthcheckCommand).toBe("[\"/bin/check\",\"-v\"]")
  })

  const unsupportedCases: Array<[string, Partial<ContainerSpec>]> = [
    ["procfs_opts", { procfs_opts: ["hidepid=2"] }],
    ["labels_nested", { labels_nested: true }],
    ["idmappings", { idmappings: { AutoUserNs: true, AutoUserNsOpts: { AdditionalUIDMappings: [{ container_id: 0, host_id: 1000, size: 1 }] } } }],
    ["Networks", { Networks: { a: { static_ips: ["10.0.0.1"] }, b: { static_ips: ["10.0.1.1"] } } }],
    ["Networks", { netns: { nsmode: "host" }, Networks: { a: {} } }],
    ["mounts", { mounts: [{ type: "bind", source: "/a:b", destination: "/c", options: [] }] }],
    ["healthconfig", { healthconfig: { Test: ["CMD-SHELL", "a", "b"] } }],
    ["netns", { netns: { nsmode: "container" } }]
  ]
  for (const [option, extra] of unsupportedCases) {
    it(`a spec with ${option} that Create cannot express is an Unsupported reason naming ${option}`, () => {
      const c = toIoPodmanCreate({ ...base, ...extra })
      expect(c).toBeInstanceOf(Unsupported)
      expect((c as Unsupported).message).toContain(option)
      expect((c as Unsupported).transport).toBe("varlink")
    })
  }
})

describe("io.podman exec framing", () => {
  it("round-trips frames split at any byte boundary", () => {
    const frames = [
      encodeExecFrame(ExecDest.Stdout, new TextEncoder().encode("hello")),
      encodeExecFrame(ExecDest.Stderr, new Uint8Array(0)),
      encodeExecFrame(ExecDest.Stderr, new TextEncoder().encode("oops\n")),
      encodeExecFrame(ExecDest.Exit, exitPayload(137))
    ]
    const all = Buffer.concat(frames.map((f) => Buffer.from(f)))
    expect([...all.subarray(0, 8)]).toEqual([0, 0, 0, 0, 0, 0, 0, 5])
    for (let cut = 0; cut <= all.length; cut++) {
      const d = new ExecFrameDecoder()
      const got = [...d.push(all.subarray(0, cut)), ...d.push(all.subarray(cut))]
      expect(got.map((f) => [f.dest, Buffer.from(f.payload).toString("latin1")])).toEqual([
        [0, "hello"],
        [2, ""],
        [2, "oops\n"],
        [4, "\x89\x00\x00\x00"] // exit code 137, little-endian as Podman's HangUp writes it
      ])
    }
  })
})

describe("io.podman subset description and helpers", () => {
  it("io.podman.varlink and the embedded copy are identical", () => {
    const file = readFileSync(path.resolve(import.meta.dirname, "../../layers/podman-varlink/io.podman.varlink"), "utf8")
    expect(IO_PODMAN_SUBSET).toBe(file)
  })

  it("addresses and signals", () => {
    expect(varlinkProtocolAddress("varlink:unix:/run/podman/io.podman")).toBe("unix:/run/podman/io.podman")
    expect(varlinkProtocolAddress("varlink:tcp:127.0.0.1:1234")).toBe("tcp:127.0.0.1:1234")
    expect(signalToNumber("SIGKILL")).toBe(9)
    expect(signalToNumber("TERM")).toBe(15)
    expect(signalToNumber("10")).toBe(10)
    expect(signalToNumber("SIGNOPE")).toBeUndefined()
  })
})
