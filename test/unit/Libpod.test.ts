/**
 * The libpod JSON decoders (layers/libpod) against every recorded Podman 4.3 answer and the
 * written 5.x shapes (test/fixtures/libpod): known variants decode, and a missing or mistyped
 * field the driver depends on is a Decode reason, never a default.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit } from "effect"
import {
  errorBodyText,
  libpodErrorKind,
  signalNumber,
  toContainerInspect,
  toContainerList,
  toCreated,
  toEvent,
  toExecState,
  toImageInfo,
  toInfo,
  toStatsReport,
  toWaitExitCode
} from "../../layers/libpod/index.ts"
import { fixture, fixtureJson, fixtures, type LibpodVersion } from "../fixtures/libpod/fixtures.ts"

const run = <A, E>(e: Effect.Effect<A, E>) => Effect.runSync(e)
const failure = <A, E>(e: Effect.Effect<A, E>) => {
  const exit = Effect.runSyncExit(Effect.flip(e))
  if (Exit.isFailure(exit)) throw new Error("expected a failure")
  return exit.value
}

/** A deep copy with one change, for the mutation tests. */
const mutate = (json: any, change: (j: any) => void): unknown => {
  const copy = structuredClone(json)
  change(copy)
  return copy
}

const versions: ReadonlyArray<LibpodVersion> = ["4.3", "5.x"]

describe("every fixture decodes", () => {
  for (const version of versions) {
    it(`${version}: each answer the driver reads decodes with its decoder`, () => {
      const decoded: Array<string> = []
      for (const f of fixtures(version)) {
        if (f.status !== undefined && (f.status < 200 || f.status >= 300)) continue // error bodies: PodmanRestClassify.test.ts
        const json = f.name === "events" ? undefined : JSON.parse(f.text)
        if (f.name.startsWith("container-inspect-")) run(toContainerInspect(json))
        else if (f.name === "image-inspect") run(toImageInfo(json))
        else if (f.name === "info") run(toInfo(json))
        else if (f.name === "container-list") run(toContainerList(json))
        else if (f.name.startsWith("container-stats")) run(toStatsReport(json, new Date(0)))
        else if (f.name === "events") f.text.trim().split("\n").forEach((l) => run(toEvent(JSON.parse(l))))
        else if (f.name === "exec-inspect") run(toExecState(json))
        else if (f.name === "container-create" || f.name === "exec-create") run(toCreated(json))
        else if (f.name === "container-wait") run(toWaitExitCode(json))
        else if (f.status === 304 || f.text.trim() === "") continue // empty bodies
        else throw new Error(`no decoder for fixture ${version}/${f.name}`)
        decoded.push(f.name)
      }
      expect(decoded.length).toBeGreaterThanOrEqual(version === "4.3" ? 14 : 8)
    })
  }
})

describe("container inspect", () => {
  it("4.3 running: state, k8s-file log path, cgroup path, ports, stop signal as a number", () => {
    const i = run(toContainerInspect(fixtureJson("4.3", "container-inspect-running")))
    expect(i.state).toMatchObject({ status: "running", running: true, exitCode: 0, oomKilled: false, finishedAt: undefined })
    expect(i.state.pid).toBeGreaterThan(0)
    expect(i.state.startedAt).toBeInstanceOf(Date)
    expect(i.name).toBe("fx-running")
    expect(i.labels).toEqual({ "com.hashicorp.nomad.alloc_id": "fx" })
    expect(i.stopSignal).toBe(15)
    expect(i.logPath).toMatch(/^\/SANDBOX\/root\/overlay-containers\/[0-9a-f]{64}\/userdata\/ctr\.log$/)
    expect(i.cgroupPath).toBe(`/libpod_parent/libpod-${i.id}`)
    expect(i.ports).toEqual({ "8080/tcp": [{ hostIp: "127.0.0.1", hostPort: 18480 }] })
    expect(i.memoryLimit).toBe(67108864)
    expect(i.cpuShares).toBe(512)
    expect(i.ipAddress).toMatch(/^10\.89\./)
  })

  it("4.3 exited, OOM-killed and created containers", () => {
    const exited = run(toContainerInspect(fixtureJson("4.3", "container-inspect-exited")))
    expect(exited.state).toMatchObject({ running: false, exitCode: 3, oomKilled: false })
    expect(exited.state.finishedAt).toBeInstanceOf(Date)
    // Podman reports the cgroup only while the container runs
    expect(exited.cgroupPath).toBeUndefined()
    const oom = run(toContainerInspect(fixtureJson("4.3", "container-inspect-oom")))
    expect(oom.state).toMatchObject({ running: false, exitCode: 137, oomKilled: true })
    const created = run(toContainerInspect(fixtureJson("4.3", "container-inspect-created")))
    expect(created.state).toMatchObject({ status: "created", running: false, exitCode: 0, startedAt: undefined, finishedAt: undefined })
  })

  it("5.x: the stop signal as a name, a systemd cgroup, journald (no log path), null labels and env", () => {
    const running = run(toContainerInspect(fixtureJson("5.x", "container-inspect-running")))
    expect(running.stopSignal).toBe(15)
    expect(running.cgroupPath).toMatch(/^\/machine\.slice\/libpod-[0-9a-f]+\.scope$/)
    expect(running.logPath).toMatch(/ctr\.log$/)
    expect(running.ports).toEqual({ "8080/tcp": [{ hostIp: "127.0.0.1", hostPort: 25123 }] })
    const exited = run(toContainerInspect(fixtureJson("5.x", "container-inspect-exited")))
    expect(exited).toMatchObject({ stopSignal: 2, logPath: undefined, labels: {}, env: [], user: "65534", ports: {} })
    expect(exited.state).toMatchObject({ running: false, exitCode: 3 })
    const oom = run(toContainerInspect(fixtureJson("5.x", "container-inspect-oom")))
    expect(oom.state).toMatchObject({ oomKilled: true, exitCode: 137 })
    expect(oom.memoryLimit).toBe(16777216)
  })

  it("known variants: numeric strings for counters, a numeric stop signal string, null maps, no sections", () => {
    const i = run(toContainerInspect({
      Id: "abc",
      Name: "/web",
      State: { Running: true, Pid: "123", ExitCode: 0, OOMKilled: false, StartedAt: "2026-01-01T00:00:00Z", FinishedAt: "0001-01-01T00:00:00Z" },
      Config: { StopSignal: "9", Labels: null, Env: null },
      HostConfig: { Memory: "1048576", PortBindings: { "80/tcp": [{ HostIp: "", HostPort: "8080" }] } },
      NetworkSettings: { IPAddress: "", Ports: null, Networks: { podman: { IPAddress: "10.88.0.5" } } },
      Unknown: { deep: [1, 2, 3] }
    }))
    expect(i).toMatchObject({ name: "web", stopSignal: 9, labels: {}, env: [], memoryLimit: 1048576, ipAddress: "10.88.0.5", logPath: undefined })
    expect(i.state.pid).toBe(123)
    expect(i.ports).toEqual({ "80/tcp": [{ hostIp: "", hostPort: 8080 }] })
  })

  const base = () => fixtureJson("4.3", "container-inspect-exited")
  const mutations: ReadonlyArray<readonly [string, (j: any) => void, RegExp]> = [
    ["State.ExitCode removed", (j) => delete j.State.ExitCode, /State\.ExitCode/],
    ["State.ExitCode as a string", (j) => (j.State.ExitCode = "3"), /State\.ExitCode/],
    ["State.ExitCode not an integer", (j) => (j.State.ExitCode = 1.5), /State\.ExitCode/],
    ["State.Running as a string", (j) => (j.State.Running = "false"), /State\.Running/],
    ["State.Running removed", (j) => delete j.State.Running, /State\.Running/],
    ["State.OOMKilled removed", (j) => delete j.State.OOMKilled, /State\.OOMKilled/],
    ["State.FinishedAt as a number", (j) => (j.State.FinishedAt = 1700000000), /State\.FinishedAt/],
    ["State.FinishedAt removed", (j) => delete j.State.FinishedAt, /State\.FinishedAt/],
    ["State removed", (j) => delete j.State, /State/],
    ["Id removed", (j) => delete j.Id, /Id/],
    ["Id empty", (j) => (j.Id = ""), /Id/]
  ]
  for (const [what, change, field] of mutations) {
    it(`${what} is a Decode reason naming the field`, () => {
      const e = failure(toContainerInspect(mutate(base(), change)))
      expect(e._tag).toBe("Decode")
      expect(e.detail).toMatch(field)
    })
  }

  it("something that is not an object is a Decode reason", () => {
    expect(failure(toContainerInspect(null))._tag).toBe("Decode")
    expect(failure(toContainerInspect("running"))._tag).toBe("Decode")
  })
})

describe("other answers", () => {
  it("image inspect: 4.3 without a stop signal, 5.x with a name", () => {
    const i43 = run(toImageInfo(fixtureJson("4.3", "image-inspect")))
    expect(i43).toMatchObject({ repoTags: ["localhost/busybox:latest"], os: "linux", architecture: "amd64" })
    expect(i43.stopSignal).toBeUndefined()
    expect(i43.size).toBeGreaterThan(0)
    expect(run(toImageInfo(fixtureJson("5.x", "image-inspect"))).stopSignal).toBe("SIGQUIT")
    expect(failure(toImageInfo(mutate(fixtureJson("4.3", "image-inspect"), (j) => delete j.Id)))._tag).toBe("Decode")
  })

  it("info: 4.3 (cgroup v1, cgroupfs) and 5.x (v2, systemd); missing host facts are a Decode reason", () => {
    expect(run(toInfo(fixtureJson("4.3", "info")))).toMatchObject({
      version: "4.3.1",
      apiVersion: "4.3.1",
      rootless: false,
      cgroupVersion: "v1",
      cgroupManager: "cgroupfs",
      ociRuntime: "runc",
      socketPath: "unix:///SANDBOX/podman.sock"
    })
    expect(run(toInfo(fixtureJson("5.x", "info")))).toMatchObject({ version: "5.2.2", cgroupVersion: "v2", cgroupManager: "systemd", ociRuntime: "crun", cpus: 8 })
    for (const change of [(j: any) => delete j.host.security.rootless, (j: any) => (j.host.security.rootless = "true"), (j: any) => delete j.host.cgroupVersion, (j: any) => delete j.version]) {
      expect(failure(toInfo(mutate(fixtureJson("4.3", "info"), change)))._tag).toBe("Decode")
    }
  })

  it("container list, create answers, exec inspect, wait", () => {
    const list = run(toContainerList(fixtureJson("4.3", "container-list")))
    expect(list.map((c) => c.names[0]).sort()).toEqual(["fx-created", "fx-exited", "fx-oom", "fx-running"])
    expect(run(toCreated(fixtureJson("4.3", "container-create")))).toMatchObject({ warnings: [] })
    expect(run(toCreated(fixtureJson("4.3", "exec-create"))).id).toMatch(/^[0-9a-f]{64}$/)
    expect(run(toExecState(fixtureJson("4.3", "exec-inspect")))).toEqual({ running: false, exitCode: 7 })
    expect(run(toExecState(fixtureJson("5.x", "exec-inspect")))).toEqual({ running: false, exitCode: 7 })
    expect(failure(toExecState(mutate(fixtureJson("4.3", "exec-inspect"), (j) => delete j.ExitCode)))._tag).toBe("Decode")
    expect(failure(toCreated({ Warnings: [] }))._tag).toBe("Decode")
    expect(run(toWaitExitCode(fixtureJson("4.3", "container-wait")))).toBe(3)
    expect(run(toWaitExitCode({ StatusCode: 137, Error: null }))).toBe(137)
    expect(failure(toWaitExitCode("3"))._tag).toBe("Decode")
    expect(failure(toWaitExitCode({}))._tag).toBe("Decode")
  })

  it("stats: samples, the missing-container error line, counters required to be numbers", () => {
    const report = run(toStatsReport(fixtureJson("4.3", "container-stats"), new Date(5)))
    expect(report._tag).toBe("Samples")
    if (report._tag === "Samples") expect(report.samples[0]).toMatchObject({ memLimit: 67108864, pids: 1, readAt: new Date(5) })
    expect(run(toStatsReport(fixtureJson("4.3", "container-stats-missing"), new Date(0)))).toEqual({ _tag: "Error", error: "{}" })
    const v5 = run(toStatsReport(fixtureJson("5.x", "container-stats"), new Date(0)))
    expect(v5._tag === "Samples" && v5.samples[0]?.cpuNano).toBe(1523000000)
    expect(failure(toStatsReport({ Stats: [{ ContainerID: "x", CPUNano: "lots" }] }, new Date(0)))._tag).toBe("Decode")
  })

  it("events: the 4.3 envelope with status/id, the 5.x one without", () => {
    const lines = fixture("4.3", "events").text.trim().split("\n").map((l) => run(toEvent(JSON.parse(l))))
    expect(lines.map((e) => e.action)).toEqual(["create", "init", "start", "died", "cleanup"])
    expect(lines[3]).toMatchObject({ type: "container", name: "fx-exited", attributes: { containerExitCode: "3" } })
    const v5 = fixture("5.x", "events").text.trim().split("\n").map((l) => run(toEvent(JSON.parse(l))))
    expect(v5[1]).toMatchObject({ type: "container", action: "died", name: "batch-1", attributes: { containerExitCode: "3" } })
    expect(v5[1]!.time.getTime()).toBe(1741598400150)
  })

  it("stop signals: numbers, names and numeric strings", () => {
    expect(signalNumber(15)).toBe(15)
    expect(signalNumber("9")).toBe(9)
    expect(signalNumber("SIGUSR1")).toBe(10)
    expect(signalNumber("term")).toBe(15)
    expect(signalNumber("NOPE")).toBeUndefined()
    expect(signalNumber(0)).toBeUndefined()
  })
})

describe("error texts", () => {
  it("reads the message of an error body, else the cause, else the raw text", () => {
    expect(errorBodyText(fixture("4.3", "container-kill-exited").text)).toMatch(/^can only kill running containers\. [0-9a-f]+ is in state exited: container state improper$/)
    expect(errorBodyText('{"cause":"only a cause"}')).toBe("only a cause")
    expect(errorBodyText("plain text\n")).toBe("plain text")
  })

  it("knows the kinds of libpod's texts", () => {
    expect(libpodErrorKind(errorBodyText(fixture("4.3", "container-inspect-missing").text))).toBe("no-such-container")
    expect(libpodErrorKind(errorBodyText(fixture("4.3", "image-inspect-missing").text))).toBe("no-such-image")
    expect(libpodErrorKind(errorBodyText(fixture("4.3", "exec-inspect-missing").text))).toBe("no-such-exec-session")
    expect(libpodErrorKind(errorBodyText(fixture("4.3", "container-create-name-in-use").text))).toBe("in-use")
    expect(libpodErrorKind(errorBodyText(fixture("4.3", "exec-create-exited").text))).toBe("state-improper")
    expect(libpodErrorKind(errorBodyText(fixture("4.3", "container-start-bad-signal-kill").text))).toBeUndefined()
  })
})
