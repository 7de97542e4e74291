/**
 * What the API needs of a member — the one seam between HTTP and the runtime.
 *
 * Owns: the contract. Never: an implementation (member/ has it; tests may give their own).
 */
import type { Command, CommandResult } from "../etcd/commands.ts";
import type { EtcdError } from "../etcd/errors.ts";
import type { RangeRequest, RangeResponse } from "../etcd/types.ts";
import type { MemberInfo, MemberStatus } from "../member/member.ts";
import type { HeaderContext } from "./etcd_json.ts";

export interface ApiMember {
  /** The member's part of every response header, as of now. */
  readonly header: HeaderContext;
  /** Replicates a write; resolves once it is applied, with what applying it answered. */
  propose(command: Command): Promise<CommandResult>;
  /** Reads from the member's state; every write acknowledged before the call is visible. */
  range(request: RangeRequest): RangeResponse | EtcdError;
  members(): MemberInfo[];
  status(): MemberStatus;
}
