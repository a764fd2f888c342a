/**
 * Loss-free followed logs on Podman 4.3 (k8s-file log driver), shared by both transports (the REST
 * `logs?follow=true` stream and io.podman's GetContainersLogs sit on the same libpod code).
 *
 * Measured on 4.3.1 (this repository's sandbox): a follow stream
 * 1. ends ~1-1.5 s after the container exits even when it has not sent everything
 *    (docs/podman.md, "Logs"), and
 * 2. DROPS entries in the middle when the container writes in bursts: `seq 1 400000` followed from
 *    before the start delivered 72-91k of 400k frames, with gaps inside (e.g. 48763 → 52250).
 *    What it does deliver is always a subsequence, in order, of what a non-follow read returns
 *    (checked frame by frame in 5 runs). A slower writer (a shell loop, 30k lines) was complete.
 * So "re-read and skip the bytes already delivered" is not enough: after a drop the byte count
 * points into the wrong place and the tail of the log is lost or duplicated.
 *
 * The ledger records a 32-bit digest of every frame the follow delivered. When the follow ends, a
 * non-follow read of the same log (same filters) is aligned against the ledger greedily: a frame
 * equal to the next recorded one was delivered (skip it), any other frame was dropped or is new
 * (deliver it). Greedy leftmost matching finds an embedding whenever the delivered frames are a
 * subsequence, so nothing is lost and nothing is repeated; frames dropped mid-stream arrive late
 * (after later ones), the price of Podman's bug. Memory: 4 bytes per delivered frame, capped at
 * {@link LEDGER_CAP} frames; past the cap the alignment falls back to skipping by frame count.
 */
import type { OutputChunk } from "../../src/services/Podman.ts"

/** At most 4M frames (16 MiB) are remembered. */
export const LEDGER_CAP = 4 * 1024 * 1024

/** FNV-1a over the stream tag and the payload: cheap, and collisions only matter between neighbours. */
export const frameDigest = (c: OutputChunk): number => {
  let h = 0x811c9dc5
  h = Math.imul(h ^ (c.stream === "stderr" ? 2 : 1), 0x01000193)
  const d = c.data
  for (let i = 0; i < d.length; i++) h = Math.imul(h ^ d[i]!, 0x01000193)
  return h >>> 0
}

export class FrameLedger {
  private digests = new Uint32Array(1024)
  /** Frames delivered. */
  count = 0

  /** Remembers one delivered frame. */
  record(c: OutputChunk): void {
    if (this.count < LEDGER_CAP) {
      if (this.count === this.digests.length) {
        const next = new Uint32Array(Math.min(LEDGER_CAP, this.digests.length * 2))
        next.set(this.digests)
        this.digests = next
      }
      this.digests[this.count] = frameDigest(c)
    }
    this.count++
  }

  get overflowed(): boolean {
    return this.count > LEDGER_CAP
  }

  /**
   * A fresh aligner for one re-read: call it on every frame of the re-read, in order; it answers
   * whether that frame still has to be delivered.
   */
  aligner(): (c: OutputChunk) => boolean {
    if (this.overflowed) {
      // Cannot verify: skip as many frames as were delivered.
      let toSkip = this.count
      return () => (toSkip > 0 ? (toSkip--, false) : true)
    }
    let j = 0
    const n = this.count
    const digests = this.digests
    return (c) => {
      if (j < n && frameDigest(c) === digests[j]) {
        j++
        return false
      }
      return true
    }
  }
}
