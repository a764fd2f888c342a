/**
 * Schemas of the libpod JSON the driver reads (REST answers, and the JSON text io.podman's
 * InspectContainer/InspectImage return). Only the fields the driver uses are declared; other keys
 * are ignored.
 *
 * Strict where a wrong default would lie: a container's `Id`, `State.Running`, `State.ExitCode`,
 * `State.OOMKilled` and `State.FinishedAt`, an exec session's `Running`/`ExitCode`, the host facts
 * the spec depends on (rootless, cgroups) must be present with the right type, or decoding fails.
 * Lenient where Podman versions differ (docs/podman.md, "4.x and 5.x"): `Config.StopSignal` is a
 * number in 4.x and a name in 5.x, maps and lists may be `null`, counters may come as numeric
 * strings, descriptive fields may be missing.
 */
import { Schema } from "effect"

/** A key that may be absent or `null` (Go's nil maps and slices marshal to `null`). */
const opt = <S extends Schema.Top>(s: S) => Schema.optionalKey(Schema.NullOr(s))

/** A counter: a finite number, or the same as a numeric string (seen in some versions' answers). */
export const Count = Schema.Union([Schema.Finite, Schema.FiniteFromString])

/** A stop signal: 4.x reports the number (15), 5.x the name (`SIGTERM`). */
export const StopSignal = Schema.Union([Schema.Finite, Schema.String])

const StringMap = Schema.Record(Schema.String, Schema.String)

const PortBinding = Schema.Struct({
  HostIp: opt(Schema.String),
  // "18480" in 4.x: a numeric string
  HostPort: opt(Count)
})
const PortMap = Schema.Record(Schema.String, Schema.NullOr(Schema.Array(PortBinding)))

/** A health state (`State.Health` in 4.x+, `State.Healthcheck` in older versions). */
const HealthJson = Schema.Struct({
  Status: opt(Schema.String),
  Log: opt(Schema.Array(Schema.Struct({ End: opt(Schema.String) })))
})

/** What exit detection reads of a container's state (the same fields as in `ContainerInspectJson`). */
const ExitStateFields = {
  Running: Schema.Boolean,
  ExitCode: Schema.Int,
  OOMKilled: Schema.Boolean,
  Error: opt(Schema.String),
  // Go's zero time (`0001-01-01T00:00:00Z`) when the container never finished; always present
  FinishedAt: Schema.String,
  // the pid of the container's conmon while it runs, else 0 (exit detection, docs/podman.md "Exits")
  ConmonPid: opt(Count)
}

/**
 * `GET /libpod/containers/{id}/json` as exit detection reads it: only the state, so the probe each
 * task's exit watch starts with does not decode the container's config, mounts and networks.
 */
export const ContainerExitStateJson = Schema.Struct({
  Id: Schema.NonEmptyString,
  State: Schema.Struct(ExitStateFields)
})

/** `GET /libpod/containers/{id}/json`. */
export const ContainerInspectJson = Schema.Struct({
  Id: Schema.NonEmptyString,
  Name: opt(Schema.String),
  ImageName: opt(Schema.String),
  Image: opt(Schema.String),
  State: Schema.Struct({
    ...ExitStateFields,
    Status: opt(Schema.String),
    Pid: opt(Count),
    StartedAt: opt(Schema.String),
    // only while the container runs
    CgroupPath: opt(Schema.String),
    Health: opt(HealthJson),
    Healthcheck: opt(HealthJson)
  }),
  Config: opt(Schema.Struct({
    Labels: opt(StringMap),
    Env: opt(Schema.Array(Schema.String)),
    User: opt(Schema.String),
    WorkingDir: opt(Schema.String),
    Hostname: opt(Schema.String),
    StopSignal: opt(StopSignal),
    // durations in nanoseconds; Test ["NONE"] = disabled
    Healthcheck: opt(Schema.Struct({
      Test: opt(Schema.Array(Schema.String)),
      Interval: opt(Count),
      Timeout: opt(Count),
      StartPeriod: opt(Count)
    }))
  })),
  HostConfig: opt(Schema.Struct({
    Memory: opt(Count),
    MemoryReservation: opt(Count),
    MemorySwap: opt(Count),
    CpuShares: opt(Count),
    CpuQuota: opt(Count),
    CpuPeriod: opt(Count),
    CpusetCpus: opt(Schema.String),
    PidsLimit: opt(Count),
    PortBindings: opt(PortMap),
    LogConfig: opt(Schema.Struct({
      Type: opt(Schema.String),
      Path: opt(Schema.String)
    }))
  })),
  NetworkSettings: opt(Schema.Struct({
    IPAddress: opt(Schema.String),
    Networks: opt(Schema.Record(Schema.String, Schema.Struct({ IPAddress: opt(Schema.String) }))),
    Ports: opt(PortMap)
  })),
  Mounts: opt(Schema.Array(Schema.Struct({
    Type: opt(Schema.String),
    Source: opt(Schema.String),
    Destination: opt(Schema.String),
    RW: opt(Schema.Boolean)
  })))
})
export type ContainerInspectJson = typeof ContainerInspectJson.Type

/** `GET /libpod/images/{name}/json`. */
export const ImageInspectJson = Schema.Struct({
  Id: Schema.NonEmptyString,
  RepoTags: opt(Schema.Array(Schema.String)),
  RepoDigests: opt(Schema.Array(Schema.String)),
  Size: opt(Count),
  Os: opt(Schema.String),
  Architecture: opt(Schema.String),
  Config: opt(Schema.Struct({ StopSignal: opt(StopSignal) }))
})
export type ImageInspectJson = typeof ImageInspectJson.Type

/** `GET /libpod/info`: the host facts the spec depends on are required. */
export const InfoJson = Schema.Struct({
  host: Schema.Struct({
    arch: opt(Schema.String),
    os: opt(Schema.String),
    hostname: opt(Schema.String),
    kernel: opt(Schema.String),
    memTotal: opt(Count),
    cpus: opt(Count),
    cgroupVersion: Schema.String,
    cgroupManager: Schema.String,
    ociRuntime: opt(Schema.Struct({ name: opt(Schema.String), path: opt(Schema.String) })),
    remoteSocket: opt(Schema.Struct({ path: opt(Schema.String) })),
    security: Schema.Struct({
      rootless: Schema.Boolean,
      apparmorEnabled: opt(Schema.Boolean),
      selinuxEnabled: opt(Schema.Boolean),
      seccompEnabled: opt(Schema.Boolean),
      capabilities: opt(Schema.String)
    })
  }),
  version: Schema.Struct({
    Version: Schema.String,
    APIVersion: Schema.String
  })
})
export type InfoJson = typeof InfoJson.Type

/** One entry of `GET /libpod/containers/json`. */
export const ContainerListEntryJson = Schema.Struct({
  Id: Schema.NonEmptyString,
  Names: opt(Schema.Array(Schema.String)),
  State: opt(Schema.String),
  Labels: opt(StringMap),
  // RFC 3339 text in 4.x; a Unix time in seconds in some versions
  Created: opt(Schema.Union([Schema.String, Schema.Finite]))
})
export const ContainerListJson = Schema.Array(ContainerListEntryJson)

/** One container's sample in a `GET /libpod/containers/stats` report. Counters missing in a version read as 0. */
export const StatsEntryJson = Schema.Struct({
  ContainerID: Schema.NonEmptyString,
  CPUNano: opt(Count),
  CPUSystemNano: opt(Count),
  SystemNano: opt(Count),
  MemUsage: opt(Count),
  MemLimit: opt(Count),
  PIDs: opt(Count),
  NetInput: opt(Count),
  NetOutput: opt(Count),
  BlockInput: opt(Count),
  BlockOutput: opt(Count)
})
export type StatsEntryJson = typeof StatsEntryJson.Type

/**
 * One line of the stats stream. A missing container gives `{"Error":{},"Stats":null}` (Go errors
 * marshal to `{}`), so `Stats` may be null and `Error` anything.
 */
export const StatsReportJson = Schema.Struct({
  Error: Schema.optionalKey(Schema.Unknown),
  Stats: opt(Schema.Array(StatsEntryJson))
})

/** One line of `GET /libpod/events`: the Docker-style envelope, with the older lower-case names as fallbacks. */
export const EventJson = Schema.Struct({
  Type: opt(Schema.String),
  type: opt(Schema.String),
  Action: opt(Schema.String),
  status: opt(Schema.String),
  id: opt(Schema.String),
  Actor: opt(Schema.Struct({
    ID: opt(Schema.String),
    Attributes: opt(Schema.Record(Schema.String, Schema.Unknown))
  })),
  time: opt(Count),
  timeNano: opt(Count)
})

/** `GET /libpod/exec/{id}/json`. */
export const ExecInspectJson = Schema.Struct({
  Running: Schema.Boolean,
  ExitCode: Schema.Int
})

/** The answer of `POST /containers/create` (and `Id` alone for exec create). */
export const CreatedJson = Schema.Struct({
  Id: Schema.NonEmptyString,
  Warnings: opt(Schema.Array(Schema.String))
})

/** `POST /containers/{id}/wait`: 4.x and 5.x answer a bare number; the Docker shape `{"StatusCode":n}` is accepted too. */
export const WaitJson = Schema.Union([Schema.Int, Schema.Struct({ StatusCode: Schema.Int })])

/** One entry of `GET /libpod/images/json`. */
export const ImageListJson = Schema.Array(Schema.Struct({
  Id: Schema.NonEmptyString,
  Names: opt(Schema.Array(Schema.String)),
  RepoTags: opt(Schema.Array(Schema.String))
}))

/**
 * One line of the Docker-compatible pull (`POST /images/create`): a layer's status and byte
 * progress, or an error (inside the 200 body, as libpod's own pull).
 */
export const CompatPullLineJson = Schema.Struct({
  status: opt(Schema.String),
  id: opt(Schema.String),
  progressDetail: opt(Schema.Struct({ current: opt(Count), total: opt(Count) })),
  error: opt(Schema.String),
  errorDetail: opt(Schema.Struct({ message: opt(Schema.String) }))
})

/** `GET /libpod/containers/{id}/healthcheck`. */
export const HealthcheckRunJson = Schema.Struct({ Status: Schema.String })

/** `POST /images/load`. */
export const ImageLoadJson = Schema.Struct({ Names: opt(Schema.Array(Schema.String)) })

/** One line of `POST /images/pull`: progress, the final ids, or (4.x) an error inside a 200 body. */
export const PullLineJson = Schema.Struct({
  error: opt(Schema.String),
  id: opt(Schema.String),
  images: opt(Schema.Array(Schema.String)),
  stream: opt(Schema.String)
})

/** An error body: `{"cause": "...", "message": "...", "response": 500}`. */
export const ErrorBodyJson = Schema.Struct({
  cause: opt(Schema.String),
  message: opt(Schema.String)
})
