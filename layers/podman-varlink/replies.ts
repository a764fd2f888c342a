/**
 * Schemas of the io.podman replies the driver reads (the output types of io.podman.varlink next to
 * this file). Strict where a default would lie (WaitContainer's exit code, the id CreateContainer
 * returns, the `exists` answers, the JSON text of the inspect methods); lenient where io.podman 1.x
 * and 2.x leave fields empty. Inspect texts are libpod JSON and decoded by layers/libpod.
 */
import { Schema } from "effect"

const opt = <S extends Schema.Top>(s: S) => Schema.optionalKey(Schema.NullOr(s))

export const GetVersionReply = Schema.Struct({
  version: Schema.String,
  remote_api_version: opt(Schema.Union([Schema.Finite, Schema.String]))
})

export const GetInfoReply = Schema.Struct({
  info: Schema.Struct({
    host: opt(Schema.Struct({
      arch: opt(Schema.String),
      os: opt(Schema.String),
      hostname: opt(Schema.String),
      kernel: opt(Schema.String),
      mem_total: opt(Schema.Finite),
      cpus: opt(Schema.Finite)
    })),
    podman: opt(Schema.Struct({ podman_version: opt(Schema.String) }))
  })
})

/** ImageExists / ContainerExists: 0 = exists, 1 = does not. */
export const ExistsReply = Schema.Struct({ exists: Schema.Int })

/** InspectContainer / InspectImage return libpod's JSON as text. */
export const InspectContainerReply = Schema.Struct({ container: Schema.String })
export const InspectImageReply = Schema.Struct({ image: Schema.String })

/** Start/Stop/Kill/RemoveContainer answer the container's id; the driver does not need it. */
export const ContainerReply = Schema.Struct({ container: opt(Schema.String) })

export const CreateContainerReply = Schema.Struct({ container: Schema.NonEmptyString })

export const WaitContainerReply = Schema.Struct({ exitcode: Schema.Int })

export const ListContainersReply = Schema.Struct({
  containers: opt(Schema.Array(Schema.Struct({
    id: Schema.NonEmptyString,
    names: opt(Schema.String),
    status: opt(Schema.String),
    containerrunning: opt(Schema.Boolean),
    labels: opt(Schema.Record(Schema.String, Schema.String)),
    createdat: opt(Schema.String)
  })))
})

export const ContainerStatsReply = Schema.Struct({
  container: Schema.Struct({
    id: opt(Schema.String),
    cpu_nano: opt(Schema.Finite),
    system_nano: opt(Schema.Finite),
    mem_usage: opt(Schema.Finite),
    mem_limit: opt(Schema.Finite),
    pids: opt(Schema.Finite),
    net_input: opt(Schema.Finite),
    net_output: opt(Schema.Finite),
    block_input: opt(Schema.Finite),
    block_output: opt(Schema.Finite)
  })
})

/** PullImage / LoadImage `more` replies: logs so far, the image id in the last one. */
export const MoreResponseReply = Schema.Struct({
  reply: Schema.Struct({
    logs: opt(Schema.Array(Schema.String)),
    id: opt(Schema.String)
  })
})

export const LogLineReply = Schema.Struct({
  log: Schema.Struct({
    device: opt(Schema.String),
    parseLogType: opt(Schema.String),
    time: opt(Schema.String),
    msg: opt(Schema.String)
  })
})

export const EventReply = Schema.Struct({
  events: Schema.Struct({
    id: opt(Schema.String),
    image: opt(Schema.String),
    name: opt(Schema.String),
    status: opt(Schema.String),
    time: opt(Schema.String),
    type: opt(Schema.String)
  })
})
