/**
 * ACL LOG: the bounded list of recent denials (a command or key the user may not touch, or a
 * failed AUTH), newest first. Like Redis, a denial equal to a recent one (same reason,
 * context, object and user, within 60 s) bumps that entry's count instead of adding one.
 */
import { limits } from "../limits.ts";

export type DenialReason = "command" | "key" | "channel" | "auth";

export interface AclLogEntry {
  count: number;
  reason: DenialReason;
  context: "toplevel" | "multi" | "lua";
  object: string;
  username: string;
  clientInfo: string;
  entryId: number;
  createdMs: number;
  updatedMs: number;
}

const groupWindowMs = 60_000;

export class AclLog {
  private entries: AclLogEntry[] = [];
  private nextId = 0;
  maxLen: number = limits.aclLogEntriesMax;

  add(entry: Omit<AclLogEntry, "count" | "entryId" | "createdMs" | "updatedMs">, now = Date.now()) {
    const same = this.entries.find(
      (e) =>
        e.reason === entry.reason &&
        e.context === entry.context &&
        e.object === entry.object &&
        e.username === entry.username &&
        now - e.updatedMs < groupWindowMs,
    );
    if (same) {
      same.count++;
      same.updatedMs = now;
      same.clientInfo = entry.clientInfo;
      // Redis moves the updated entry to the head.
      this.entries.splice(this.entries.indexOf(same), 1);
      this.entries.unshift(same);
      return;
    }
    this.entries.unshift({
      ...entry,
      count: 1,
      entryId: this.nextId++,
      createdMs: now,
      updatedMs: now,
    });
    if (this.entries.length > this.maxLen) this.entries.length = this.maxLen;
  }

  list(count = this.entries.length): readonly AclLogEntry[] {
    return this.entries.slice(0, Math.max(0, count));
  }

  reset(): void {
    this.entries = [];
  }
}
