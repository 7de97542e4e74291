/**
 * etcd's Lock service over gRPC (v3lockpb.Lock): Lock and Unlock, answered as etcd 3.4 answers.
 *
 * Owns: the calls' messages. Never: the recipe (coordination/lock.ts has it).
 */
import { isEtcdError } from "../etcd/errors.ts";
import type { ApiMember } from "../member/client_api.ts";
import { lock, unlock } from "../coordination/lock.ts";
import type { ServiceImplementation } from "./calls.ts";
import { bytes, lease } from "./requests.ts";
import { fields, header } from "./responses.ts";
import { unary } from "./unary.ts";

export function lockService(api: ApiMember): ServiceImplementation {
  return {
    Lock: unary(api, async (member, m, caller, signal) => {
      if (isEtcdError(caller)) return caller;
      const locked = await lock({ member, caller, signal }, bytes(m, "name"), lease(m, "lease"));
      if (isEtcdError(locked)) return locked;
      return fields().message("header", header(member.header, locked.revision)).bytes("key", locked.key).done();
    }, { waits: true }),
    Unlock: unary(api, async (member, m, caller, signal) => {
      if (isEtcdError(caller)) return caller;
      const revision = await unlock({ member, caller, signal }, bytes(m, "key"));
      if (isEtcdError(revision)) return revision;
      return fields().message("header", header(member.header, revision)).done();
    }),
  };
}
