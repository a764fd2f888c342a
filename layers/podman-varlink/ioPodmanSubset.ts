/**
 * The io.podman subset this transport uses, as text (a copy of io.podman.varlink next to this file,
 * kept identical by test/unit/VarlinkPodmanCreate.test.ts). Calls are validated against it before
 * they are sent, and the test-only service serves it from GetInterfaceDescription.
 */
import { parseVarlinkInterface } from "../varlink/VarlinkIdl.ts"

export const IO_PODMAN_SUBSET = `# The subset of Podman 1.x/2.x's io.podman varlink interface this driver calls. Names, field names
# and types are those of Podman's own description (pkg/varlink/io.podman.varlink on the v1/v2
# branches); the comments are ours. The live service may describe more; it must not describe less.
# Checked with our parser against the v1.9, v2.0 and v2.2 descriptions: every method, type, field
# and error below has the same signature there. (v1.6 differs: PullImage has no creds, and
# PodmanInfo.registries is a []string.)
interface io.podman

# Arguments of CreateContainer: the flags of "podman create", one field per flag.
# args[0] is the image; args[1..] replace the image's command.
type Create (
  args: []string,
  addHost: ?[]string,
  annotation: ?[]string,
  capAdd: ?[]string,
  capDrop: ?[]string,
  cgroupParent: ?string,
  cpuPeriod: ?int,
  cpuQuota: ?int,
  cpuShares: ?int,
  cpuSetCpus: ?string,
  detach: ?bool,
  device: ?[]string,
  dns: ?[]string,
  dnsOpt: ?[]string,
  dnsSearch: ?[]string,
  entrypoint: ?string,
  env: ?[]string,
  healthcheckCommand: ?string,
  hostname: ?string,
  init: ?bool,
  initPath: ?string,
  ip: ?string,
  ipc: ?string,
  label: ?[]string,
  logDriver: ?string,
  logOpt: ?[]string,
  macAddress: ?string,
  memory: ?string,
  memoryReservation: ?string,
  memorySwap: ?string,
  memorySwappiness: ?int,
  name: ?string,
  network: ?string,
  oomScoreAdj: ?int,
  pidsLimit: ?int,
  privileged: ?bool,
  publish: ?[]string,
  readonly: ?bool,
  securityOpt: ?[]string,
  shmSize: ?string,
  stopSignal: ?string,
  stopTimeout: ?int,
  sysctl: ?[]string,
  tmpfs: ?[]string,
  tty: ?bool,
  ulimit: ?[]string,
  user: ?string,
  userns: ?string,
  volume: ?[]string,
  workDir: ?string
)

# Registry credentials of PullImage (empty strings: anonymous).
type AuthConfig (username: string, password: string)

# Progress of a long-running image operation; the last reply carries the image id.
type MoreResponse (logs: []string, id: string)

# One log line of GetContainersLogs. device is "stdout" or "stderr".
type LogLine (device: string, parseLogType: string, time: string, msg: string, cid: string)

# A resource usage sample; cpu_nano and system_nano are cumulative nanoseconds.
type ContainerStats (
  id: string,
  name: string,
  cpu: float,
  cpu_nano: int,
  system_nano: int,
  mem_usage: int,
  mem_limit: int,
  mem_perc: float,
  net_input: int,
  net_output: int,
  block_output: int,
  block_input: int,
  pids: int
)

type ContainerPortMappings (host_port: string, host_ip: string, protocol: string, container_port: string)

type ContainerMount (destination: string, type: string, source: string, options: []string)

type ContainerNameSpace (user: string, uts: string, pidns: string, pid: string, cgroup: string, net: string, mnt: string, ipc: string)

# One entry of ListContainers. names is a single string.
type Container (
  id: string,
  image: string,
  imageid: string,
  command: []string,
  createdat: string,
  runningfor: string,
  status: string,
  ports: []ContainerPortMappings,
  rootfssize: int,
  rwsize: int,
  names: string,
  labels: [string]string,
  mounts: []ContainerMount,
  containerrunning: bool,
  namespaces: ContainerNameSpace
)

type InfoDistribution (distribution: string, version: string)

type InfoHost (
  buildah_version: string,
  distribution: InfoDistribution,
  mem_free: int,
  mem_total: int,
  swap_free: int,
  swap_total: int,
  arch: string,
  cpus: int,
  hostname: string,
  kernel: string,
  os: string,
  uptime: string,
  eventlogger: string
)

type InfoGraphStatus (backing_filesystem: string, native_overlay_diff: string, supports_d_type: string)

type InfoRegistry (search: []string, insecure: []string, blocked: []string)

type InfoStore (
  containers: int,
  images: int,
  graph_driver_name: string,
  graph_driver_options: string,
  graph_root: string,
  graph_status: InfoGraphStatus,
  run_root: string
)

type InfoPodmanBinary (compiler: string, go_version: string, podman_version: string, git_commit: string)

type PodmanInfo (host: InfoHost, registries: InfoRegistry, store: InfoStore, podman: InfoPodmanBinary)

# Arguments of ExecContainer. The call must ask for an upgrade; the upgraded stream is framed.
type ExecOpts (
  name: string,
  tty: bool,
  privileged: bool,
  cmd: []string,
  user: ?string,
  workdir: ?string,
  env: ?[]string,
  detachKeys: ?string
)

type Event (id: string, image: string, name: string, status: string, time: string, type: string)

method GetVersion() -> (
  version: string,
  go_version: string,
  git_commit: string,
  built: string,
  os_arch: string,
  remote_api_version: int
)
method GetInfo() -> (info: PodmanInfo)
# exists is 0 when the image exists, 1 when it does not.
method ImageExists(name: string) -> (exists: int)
# The image's inspect data as a JSON text.
method InspectImage(name: string) -> (image: string)
# Streams MoreResponse replies when called with more.
method PullImage(name: string, creds: AuthConfig) -> (reply: MoreResponse)
# inputFile is a path on the service's host.
method LoadImage(name: string, inputFile: string, quiet: bool, deleteFile: bool) -> (reply: MoreResponse)
method CreateContainer(create: Create) -> (container: string)
method StartContainer(name: string) -> (container: string)
# Blocks until the container stops, polling every interval milliseconds.
method WaitContainer(name: string, interval: int) -> (exitcode: int)
# The container's inspect data as a JSON text.
method InspectContainer(name: string) -> (container: string)
# exists is 0 when the container exists, 1 when it does not.
method ContainerExists(name: string) -> (exists: int)
method ListContainers() -> (containers: []Container)
method StopContainer(name: string, timeout: int) -> (container: string)
method KillContainer(name: string, signal: int) -> (container: string)
method RemoveContainer(name: string, force: bool, removeVolumes: bool) -> (container: string)
# With more and follow: one reply per line; a reply with an empty LogLine ends the stream.
method GetContainersLogs(names: []string, follow: bool, latest: bool, since: string, tail: int, timestamps: bool) -> (log: LogLine)
method GetContainerStats(name: string) -> (container: ContainerStats)
# Needs upgrade: after the empty reply the connection carries frames of an 8-byte header
# (byte 0: 0 stdout, 1 stdin, 2 stderr, 3 resize, 4 exit; bytes 4-7: big-endian length) and a payload;
# the exit frame's payload is the exit code as a 4-byte little-endian integer (as Podman writes it).
method ExecContainer(opts: ExecOpts) -> ()
# With more: one reply per event.
method GetEvents(filter: []string, since: string, until: string) -> (events: Event)

error ImageNotFound (id: string, reason: string)
error ContainerNotFound (id: string, reason: string)
error NoContainerRunning ()
error InvalidState (id: string, reason: string)
error ErrorOccurred (reason: string)
error RuntimeError (reason: string)
error WantsMoreRequired (reason: string)
error ErrCtrStopped (id: string)
`

/** The parsed subset. */
export const ioPodmanSubset = parseVarlinkInterface(IO_PODMAN_SUBSET)
