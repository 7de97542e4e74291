/**
 * The cluster page: every member with its role, term, indexes, lag behind the leader, revision,
 * size and health, asked of each member every second; how many more failures the cluster
 * survives; transfer leadership, promote a learner, remove a member (typed confirmation); and
 * this member's live charts (metrics_charts.tsx).
 *
 * Owns: the cluster view and its actions. Never: caches beyond one poll.
 */
import { signal, useSignal, useSignalEffect } from "@preact/signals";
import { ApiError, call, curl } from "./api.ts";
import { notAdmin } from "./access.ts";
import { MetricsCharts } from "./metrics_charts.tsx";
import { Curl, ErrorLine, TypedConfirm } from "./widgets.tsx";

interface Member { ID: string; name?: string; peerURLs?: string[]; clientURLs?: string[]; isLearner?: boolean }
interface Status {
  header: { member_id: string; revision?: string };
  leader?: string;
  raftIndex?: string;
  raftTerm?: string;
  raftAppliedIndex?: string;
  dbSize?: string;
  errors?: string[];
}

const members = signal<Member[]>([]);
const statuses = signal<Record<string, Status | string>>({});
const pollError = signal<string | undefined>(undefined);
let polling: ReturnType<typeof setInterval> | undefined;

async function poll(): Promise<void> {
  try {
    const list = await call<{ members?: Member[] }>("/v3/cluster/member/list", {});
    members.value = list.members ?? [];
    pollError.value = undefined;
  } catch (e) {
    pollError.value = `member list: ${(e as Error).message}`;
  }
  const answers = await Promise.all(members.value.map(async (m) => {
    const url = m.clientURLs?.[0];
    if (!url) return [m.ID, "not started"] as const;
    try {
      return [m.ID, await call<Status>("/v3/maintenance/status", {}, url, 900)] as const;
    } catch (e) {
      return [m.ID, (e as Error).message] as const;
    }
  }));
  statuses.value = Object.fromEntries(answers);
}

const hex = (id: string) => BigInt(id).toString(16);
const num = (s: string | undefined) => Number(s ?? 0);

export function ClusterPage() {
  const action = useSignal<{ error?: string; done?: string }>({});
  const removing = useSignal<Member | undefined>(undefined);
  useSignalEffect(() => {
    poll();
    polling = setInterval(poll, 1_000);
    return () => clearInterval(polling);
  });
  const all = members.value;
  const byId = statuses.value;
  const reachable = Object.values(byId).filter((s): s is Status => typeof s !== "string");
  const leaderId = reachable.find((s) => s.leader && s.leader !== "0" && s.leader === s.header.member_id)?.leader;
  const leader = all.find((m) => m.ID === leaderId);
  const leaderStatus = leaderId ? byId[leaderId] as Status : undefined;
  const voters = all.filter((m) => !m.isLearner);
  const healthyVoters = voters.filter((m) => typeof byId[m.ID] === "object" && !(byId[m.ID] as Status).errors).length;
  const quorum = Math.floor(voters.length / 2) + 1;
  const tolerance = healthyVoters - quorum;

  const run = async (what: string, path: string, body: unknown, base = "") => {
    action.value = {};
    try {
      await call(path, body, base, 15_000);
      action.value = { done: what };
      await poll();
    } catch (e) {
      action.value = { error: `${what}: ${e instanceof ApiError ? e.message : String(e)}` };
    }
  };

  return (
    <section>
      <h2>Cluster</h2>
      <div class="cards">
        <div class="card"><div class="muted">leader</div><div class="big" data-testid="leader">{leader ? leader.name || hex(leader.ID) : "none"}</div></div>
        <div class="card"><div class="muted">term</div><div class="big">{leaderStatus?.raftTerm ?? "–"}</div></div>
        <div class="card"><div class="muted">revision</div><div class="big">{leaderStatus?.header.revision ?? "–"}</div></div>
        <div class="card"><div class="muted">members</div><div class="big" data-testid="member-count">{all.length}</div></div>
        <div class="card">
          <div class="muted">failure tolerance</div>
          <div class={`big ${tolerance > 0 ? "ok" : tolerance === 0 ? "warn" : "bad"}`} data-testid="tolerance">
            {tolerance >= 0 ? `survives ${tolerance} more failure${tolerance === 1 ? "" : "s"}` : "no quorum"}
          </div>
        </div>
      </div>
      <ErrorLine error={pollError.value} />
      <ErrorLine error={action.value.error} />
      {action.value.done && <div class="banner">{action.value.done}: done</div>}
      <table data-testid="members">
        <thead>
          <tr><th>name</th><th>id</th><th>role</th><th>term</th><th>commit</th><th>applied</th><th>lag</th><th>revision</th><th>db size</th><th>health</th><th>client / peer URLs</th><th /></tr>
        </thead>
        <tbody>
          {all.map((m) => {
            const s = byId[m.ID];
            const status = typeof s === "object" ? s : undefined;
            const role = m.isLearner ? "learner" : m.ID === leaderId ? "leader" : status ? "follower" : "down";
            const lag = status && leaderStatus ? Math.max(0, num(leaderStatus.raftIndex) - num(status.raftAppliedIndex)) : undefined;
            const health = status ? (status.errors ? status.errors.join(", ") : "healthy") : (s as string | undefined) ?? "…";
            return (
              <tr key={m.ID} data-member={m.name} data-role={role}>
                <td>{m.name || <span class="muted">(not started)</span>}</td>
                <td class="mono">{hex(m.ID)}</td>
                <td><span class={`pill ${role}`}>{role}</span></td>
                <td>{status?.raftTerm ?? "–"}</td>
                <td>{status?.raftIndex ?? "–"}</td>
                <td>{status?.raftAppliedIndex ?? "–"}</td>
                <td>{lag ?? "–"}</td>
                <td>{status?.header.revision ?? "–"}</td>
                <td>{status ? `${(num(status.dbSize) / 1024).toFixed(0)} KiB` : "–"}</td>
                <td class={status && !status.errors ? "ok" : "bad"}>{health}</td>
                <td class="mono">{(m.clientURLs ?? []).join(" ")}<br /><span class="muted">{(m.peerURLs ?? []).join(" ")}</span></td>
                <td>
                  {role === "follower" && leader && (
                    <span>
                      <button type="button" disabled={!!notAdmin()} title={notAdmin()} onClick={() => run(`transfer leadership to ${m.name}`, "/v3/maintenance/transfer-leadership", { targetID: m.ID }, leader.clientURLs?.[0])}>make leader</button>
                      <Curl command={curl("/v3/maintenance/transfer-leadership", { targetID: m.ID }, leader.clientURLs?.[0])} />
                    </span>
                  )}
                  {m.isLearner && (
                    <span>
                      <button type="button" disabled={!!notAdmin()} title={notAdmin()} onClick={() => run(`promote ${m.name}`, "/v3/cluster/member/promote", { ID: m.ID })}>promote</button>
                      <Curl command={curl("/v3/cluster/member/promote", { ID: m.ID })} />
                    </span>
                  )}
                  <button type="button" class="danger" disabled={!!notAdmin()} title={notAdmin()} onClick={() => (removing.value = m)}>remove</button>
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
      <MetricsCharts />
      {removing.value && (
        <TypedConfirm
          expected={removing.value.name || hex(removing.value.ID)}
          label="remove member"
          onConfirm={() => {
            const m = removing.value!;
            removing.value = undefined;
            run(`remove ${m.name}`, "/v3/cluster/member/remove", { ID: m.ID });
          }}
        >
          Removing <b>{removing.value.name}</b> takes it out of the cluster for good; it stops.{" "}
          <Curl command={curl("/v3/cluster/member/remove", { ID: removing.value.ID })} />
        </TypedConfirm>
      )}
    </section>
  );
}
