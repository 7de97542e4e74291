/**
 * The health probes on the client port: /health as etcd 3.4 answers it, and /livez and /readyz as
 * etcd 3.5 added them — JSON `{"health":"true","reason":""}`, or false with a reason and 503 (Go's
 * http.Error: text with a newline). /livez asks whether the member itself serves (a read of its
 * own state: false once its storage failed), /readyz whether it serves the cluster's data (a
 * linearizable read confirmed by a quorum within a second; `?serializable=true`: its own state).
 *
 * An alarm raised makes /health false (etcd 3.4: any alarm), and CORRUPT makes /readyz false too
 * (etcd 3.5's data corruption check).
 *
 * Owns: the probes' answers. Never: decides health itself — the member's health(), range() and
 * alarms() do.
 */
import type { Hono } from "hono";
import { HEALTH_CHECK_TIMEOUT_MS } from "../config/limits.ts";
import { isEtcdError } from "../etcd/errors.ts";
import { Errors as MemberErrors } from "../etcd/server_errors.ts";
import type { RangeRequest } from "../etcd/types.ts";
import type { ApiMember } from "../member/client_api.ts";
import { textResponse } from "./http.ts";

/** etcd's probe read: one key, keys only, of the member's own state. */
const PROBE_READ: RangeRequest = {
  key: new Uint8Array([0]), rangeEnd: new Uint8Array([0]), limit: 1, revision: 0, sortOrder: 0, sortTarget: 0, serializable: true,
  keysOnly: true, countOnly: false, minModRevision: 0, maxModRevision: 0, minCreateRevision: 0, maxCreateRevision: 0,
};

/** Why the member cannot read its own state, or undefined. */
async function localReadFails(member: ApiMember): Promise<string | undefined> {
  const read = await member.range(PROBE_READ);
  return isEtcdError(read) ? `RANGE ERROR:${read.message}` : undefined;
}

/** Why the member cannot serve a linearizable read now, or undefined. */
async function quorumReadFails(member: ApiMember): Promise<string | undefined> {
  const unhealthy = await member.health(HEALTH_CHECK_TIMEOUT_MS);
  if (!unhealthy) return undefined;
  return unhealthy.message === MemberErrors.noLeader.message ? "RAFT NO LEADER" : `RANGE ERROR:${unhealthy.message}`;
}

function probeAnswer(reason: string | undefined): Response {
  const body = JSON.stringify({ health: reason === undefined ? "true" : "false", reason: reason ?? "" });
  return reason === undefined ? textResponse(body, 200) : textResponse(`${body}\n`, 503);
}

const onlyGet = () => new Response("Method Not Allowed\n", { status: 405, headers: { "Content-Type": "text/plain; charset=utf-8", Allow: "GET" } });

export function addHealthProbes(app: Hono, member: ApiMember): void {
  // etcd 3.4 answers /health as text, though the text is JSON: false (with 503, and Go's
  // http.Error newline) while an alarm is raised, or when the member cannot serve a linearizable
  // read within a second.
  app.get("/health", async () => {
    const unhealthy = member.alarms().length > 0 || await member.health(HEALTH_CHECK_TIMEOUT_MS);
    return unhealthy ? textResponse(`{"health":"false"}\n`, 503) : textResponse(`{"health":"true"}`, 200);
  });
  app.all("/livez", async (c) => (c.req.method === "GET" ? probeAnswer(await localReadFails(member)) : onlyGet()));
  app.all("/readyz", async (c) => {
    if (c.req.method !== "GET") return onlyGet();
    const corrupt = member.alarms().some((a) => a.alarm === "CORRUPT") ? "ALARM CORRUPT" : undefined;
    return probeAnswer(corrupt ?? await (c.req.query("serializable") === "true" ? localReadFails(member) : quorumReadFails(member)));
  });
}
