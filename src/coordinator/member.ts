// One island that joined the run, at the coordinator: its plain record (coordinator-state.ts) and the
// live resources that go with it: its link, its launcher handle, when it was last heard from, its
// last assignment's neighbour lists, the rate window of its reports, and its latest snapshot (the
// island's complete state from its last `checkpoint` message: what a run checkpoint holds of it, and
// what a restarted island would start from). The snapshot is kept here, not in the record, because it
// is large and the run checkpoint carries it beside the coordinator's state, not inside it.
import type { IslandSnapshotJSON } from "../core/island-snapshot.ts";
import type { Link } from "../io/link.ts";
import { RateWindow } from "../io/progress.ts";
import type { MemberRecord } from "./coordinator-state.ts";
import type { IslandHandle } from "./launcher.ts";

export class Member {
  readonly record: MemberRecord;
  readonly link: Link;
  handle: IslandHandle | null;
  /** performance.now() of the last message from it */
  lastSeen = performance.now();
  /** its last assignment's neighbour lists, so that an unchanged assignment is not sent again */
  lastAssign = "";
  /** its reports' progress, timed on arrival: the generation rate for the ETA */
  readonly rates = new RateWindow();
  /** its latest snapshot, from its last `checkpoint` message (or the one it was restarted from) */
  snapshot: IslandSnapshotJSON | null = null;

  constructor(record: MemberRecord, link: Link, handle: IslandHandle | null) {
    this.record = record;
    this.link = link;
    this.handle = handle;
  }

  get id(): number {
    return this.record.id;
  }

  /** the fields that name it in log records */
  get fields(): { island: number; index: number; host: string; pid: number } {
    const r = this.record;
    return { island: r.id, index: r.index, host: r.host, pid: r.pid };
  }
}
