/**
 * Test support: etcdctl's output made comparable between two servers — etcd and Concord, or two
 * etcds. Ids that each cluster picks for itself (leases, members, the cluster) become names given
 * in order of first appearance (`<lease1>`, `<member2>`, `<cluster1>`), in every form etcdctl
 * prints them (hex, hex padded with zeros or spaces, decimal); URLs, ports and member names the harness chose
 * become the names it gives them; and the few numbers that differ by nature become placeholders
 * (see VARYING). Arguments are written with the same names (`lease revoke <lease1>`), resolved
 * per side.
 *
 * Owns: the naming of one side's ids and what counts as "differs by nature". Never: runs
 * etcdctl, or hides a difference that is not listed in VARYING with its reason.
 */

export type IdKind = "lease" | "member" | "cluster";

interface Rule {
  pattern: RegExp;
  name: string;
  /** Characters the pattern matches: longer first, so text containing another's is taken whole. */
  length: number;
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** One side's names: what each placeholder stands for here, and how to find it in output. */
export class Names {
  readonly #ids = new Map<bigint, string>();
  readonly #counts = new Map<IdKind, number>();
  /** Placeholder → what it stands for in an argument. */
  readonly #args = new Map<string, string>();
  #rules: Rule[] = [];

  /** Names an id (decimal, or `0x…`), the next of its kind unless already named. */
  id(kind: IdKind, value: bigint | string): string {
    const n = BigInt(value);
    const known = this.#ids.get(n);
    if (known) return known;
    const count = (this.#counts.get(kind) ?? 0) + 1;
    this.#counts.set(kind, count);
    const name = `<${kind}${count}>`;
    this.#ids.set(n, name);
    const hex = n.toString(16);
    this.#args.set(name, hex);
    for (const form of new Set([hex, hex.padStart(16, "0")])) {
      this.#rules.push({ pattern: new RegExp(`(?<![0-9A-Za-z])${form}(?![0-9A-Za-z])`, "g"), name, length: form.length });
    }
    // `Member %16x added to cluster %16x`: a short id is padded with spaces after the one space.
    if (hex.length < 16) this.#rules.push({ pattern: new RegExp(`(?<= ) {${16 - hex.length}}${hex}(?![0-9A-Za-z])`, "g"), name, length: 16 });
    this.#rules.push({ pattern: new RegExp(`(?<![0-9])${n}(?![0-9])`, "g"), name, length: String(n).length });
    this.#sortRules();
    return name;
  }

  /** Names a literal the harness chose (a URL, an endpoint, a member's name): `<name>`. */
  alias(real: string, name: string): void {
    const placeholder = `<${name}>`;
    this.#args.set(placeholder, real);
    this.#rules.push({ pattern: new RegExp(`(?<![\\w.-])${escape(real)}(?![\\w-]|\\.\\d)`, "g"), name: placeholder, length: real.length });
    this.#sortRules();
  }

  /** Longer matches first: a literal containing another, or a padded id, is replaced whole. */
  #sortRules(): void {
    this.#rules.sort((a, b) => b.length - a.length);
  }

  /**
   * Names the ids a command's output announces for the first time: a granted lease, an added
   * member (and its cluster), in the order they appear.
   */
  learn(output: string): void {
    // A lock's or a candidate's key ends with its session's lease in hex (etcdctl lock, elect).
    const announced = /lease ([0-9a-f]+) granted|"ID":(\d+),"TTL"|^"ID" : (\d+)\n"TTL"|Member +([0-9a-f]+) added to cluster +([0-9a-f]+)|"member":\{"ID":(\d+)|(?:^|\s)[\w.-]+\/([0-9a-f]{12,16})(?=\s|$)/gm;
    for (const m of output.matchAll(announced)) {
      if (m[1]) this.id("lease", BigInt(`0x${m[1]}`));
      if (m[2] ?? m[3]) this.id("lease", (m[2] ?? m[3])!);
      if (m[4]) this.id("member", BigInt(`0x${m[4]}`));
      if (m[5]) this.id("cluster", BigInt(`0x${m[5]}`));
      if (m[6]) this.id("member", m[6]);
      if (m[7]) this.id("lease", BigInt(`0x${m[7]}`));
    }
  }

  /** Each placeholder in `arg` replaced by what it stands for on this side. */
  resolve(arg: string): string {
    return arg.replace(/<[a-z]+[0-9]*[a-z]*>/g, (p) => {
      const real = this.#args.get(p);
      if (real === undefined) throw new Error(`${p} names nothing yet on this side`);
      return real;
    });
  }

  /** `text` with every id and literal named here replaced by its name. */
  apply(text: string): string {
    let out = text;
    for (const rule of this.#rules) out = out.replace(rule.pattern, rule.name);
    return out;
  }
}

/**
 * What differs between two clusters whatever they do, each with why:
 * - raft term: elections are timing (a cluster's first election may take two rounds);
 * - raft index, applied index: a log's own entries (bootstrap, membership, leases' checkpoints)
 *   are each implementation's, as is when they are written;
 * - DB size, size in use: storage formats (bbolt pages, SQLite pages);
 * - took: time measured by etcdctl; ts in etcdctl's logs: the clock; the client's id in the
 *   target its logs name (`endpoint://client-<uuid>/…`): random per run;
 * - the size of a snapshot etcdctl saved (its log): each implementation's own file format;
 * - a call that runs out of time ends by etcdctl's own deadline (DeadlineExceeded) or by the
 *   server's answer to the same deadline it was sent (Unknown), whichever comes first: a race
 *   etcd has with itself, so both read as the client's.
 * Written as [pattern, replacement] for JSON (`-w json`), fields (`-w fields`) and etcdctl's logs.
 */
const VARYING: [RegExp, string][] = [
  [/"(raft_term|raftTerm)":\d+/g, `"$1":<term>`],
  [/"(raftIndex|raftAppliedIndex)":\d+/g, `"$1":<index>`],
  [/"(dbSize|dbSizeInUse)":\d+/g, `"$1":<size>`],
  [/^"RaftTerm" : \d+$/gm, `"RaftTerm" : <term>`],
  [/^"(RaftIndex|RaftAppliedIndex)" : \d+$/gm, `"$1" : <index>`],
  [/^"(DBSize|DBSizeInUse)" : \d+$/gm, `"$1" : <size>`],
  [/^"Took" : \S+$/gm, `"Took" : <took>`],
  [/"took":("[^"]*"|[\d.e-]+)/g, `"took":<took>`],
  [/took = \S+/g, "took = <took>"],
  [/"ts":("[^"]*"|[\d.e+]+)/g, `"ts":<ts>`],
  [/endpoint:\/\/client-[0-9a-f-]{36}\//g, "endpoint://client-<uuid>/"],
  [/("msg":"fetched snapshot".*"size":)"[^"]*"/g, `$1<size>`],
  [/"error":"rpc error: code = Unknown desc = context deadline exceeded"/g, `"error":"rpc error: code = DeadlineExceeded desc = context deadline exceeded"`],
  [/(?<!"error":")rpc error: code = (Unknown|DeadlineExceeded) desc = context deadline exceeded/g, "context deadline exceeded"],
];

/** Columns of etcdctl's tables (and of `endpoint status`'s simple lines) that differ by nature. */
const VARYING_COLUMNS: Record<string, string> = {
  "DB SIZE": "<size>", "RAFT TERM": "<term>", "RAFT INDEX": "<index>", "RAFT APPLIED INDEX": "<index>", "TOOK": "<took>",
};
const STATUS_COLUMNS = ["ENDPOINT", "ID", "VERSION", "DB SIZE", "IS LEADER", "IS LEARNER", "RAFT TERM", "RAFT INDEX", "RAFT APPLIED INDEX", "ERRORS"];

const cells = (row: string) => row.slice(1, -1).split("|").map((c) => c.trim());

/**
 * A table with its varying columns replaced and its padding dropped: column widths follow the
 * cells' lengths, which follow the varying values.
 */
function normaliseTable(lines: string[]): string[] {
  const header = lines.find((l) => l.startsWith("|"));
  const columns = header ? cells(header) : [];
  let seenHeader = false;
  return lines.map((line) => {
    if (line.startsWith("+")) return "+";
    const row = cells(line);
    if (!seenHeader) {
      seenHeader = true;
      return `| ${row.join(" | ")} |`;
    }
    return `| ${row.map((c, i) => VARYING_COLUMNS[columns[i]] ?? c).join(" | ")} |`;
  });
}

/** `endpoint status`'s simple lines, `ENDPOINT, ID, VERSION, DB SIZE, …`, with the same columns replaced. */
function normaliseStatusLine(line: string): string {
  const row = line.split(", ");
  if (row.length !== STATUS_COLUMNS.length || !/^(true|false)$/.test(row[4]) || !/^(true|false)$/.test(row[5])) return line;
  return row.map((c, i) => VARYING_COLUMNS[STATUS_COLUMNS[i]] ?? c).join(", ");
}

/** Everything in `text` that differs by nature, replaced (ids and literals are `Names`' job). */
export function normaliseVarying(text: string): string {
  let out = text;
  for (const [pattern, replacement] of VARYING) out = out.replace(pattern, replacement);
  const lines = out.split("\n");
  const result: string[] = [];
  for (let i = 0; i < lines.length;) {
    if (lines[i].startsWith("+-")) {
      let end = i;
      while (end < lines.length && /^[+|]/.test(lines[end])) end++;
      result.push(...normaliseTable(lines.slice(i, end)));
      i = end;
    } else {
      result.push(normaliseStatusLine(lines[i]));
      i++;
    }
  }
  return sortLists(result.join("\n"));
}

/**
 * Lines in an order that follows member ids (etcd lists members by id; ids differ between
 * clusters) or the order in which concurrent checks finished (`endpoint health` of several),
 * sorted once named: each run of table rows, each run of plain lines, and the items of each JSON
 * array of objects (`-w json`).
 */
export function sortUnordered(text: string): string {
  const lines = text.split("\n").map((l) => (l.startsWith("[") || l.startsWith("{") ? sortJsonArrays(l) : l));
  const shape = (l: string) => (l === "" || /^[+{[]/.test(l) ? undefined : l.startsWith("|") ? "row" : "plain");
  for (let i = 0; i < lines.length;) {
    let end = i + 1;
    while (end < lines.length && shape(lines[i]) !== undefined && shape(lines[end]) === shape(lines[i])) end++;
    lines.splice(i, end - i, ...lines.slice(i, end).sort());
    i = end;
  }
  return lines.join("\n");
}

/**
 * Lists whose order is not etcd's to keep, sorted: `member add`'s ETCD_INITIAL_CLUSTER lists
 * members in id order (ids differ between clusters); a lease's keys (`timetolive --keys`) come
 * from a Go map, in an order that changes from one call to the next on one etcd.
 */
function sortLists(text: string): string {
  return text
    .replace(/^(ETCD_INITIAL_CLUSTER=")([^"]*)"/m, (_, head: string, list: string) => `${head}${list.split(",").sort().join(",")}"`)
    .replace(/attached keys\(\[([^\]]*)\]\)/g, (_, list: string) => `attached keys([${list.split(" ").sort().join(" ")}])`)
    .replace(/"keys":\[([^\]]*)\]/g, (_, list: string) => `"keys":[${list.split(",").sort().join(",")}]`);
}

/** Each array of objects in a line of JSON with its items sorted as text (ids already named). */
function sortJsonArrays(line: string): string {
  let out = "";
  let i = 0;
  while (i < line.length) {
    if (line[i] === "[" && line[i + 1] === "{") {
      const end = closing(line, i);
      const items = splitItems(line.slice(i + 1, end)).map(sortJsonArrays).sort();
      out += `[${items.join(",")}]`;
      i = end + 1;
    } else if (line[i] === '"') {
      const end = stringEnd(line, i);
      out += line.slice(i, end + 1);
      i = end + 1;
    } else {
      out += line[i++];
    }
  }
  return out;
}

function stringEnd(s: string, start: number): number {
  let i = start + 1;
  while (i < s.length && s[i] !== '"') i += s[i] === "\\" ? 2 : 1;
  return i;
}

/** The index of the bracket closing the one at `start`, skipping strings. */
function closing(s: string, start: number): number {
  let depth = 0;
  for (let i = start; i < s.length; i++) {
    if (s[i] === '"') i = stringEnd(s, i);
    else if (s[i] === "[" || s[i] === "{") depth++;
    else if ((s[i] === "]" || s[i] === "}") && --depth === 0) return i;
  }
  return s.length - 1;
}

/** Top-level items of an array's inside, split at the commas between them. */
function splitItems(inside: string): string[] {
  const items: string[] = [];
  let from = 0;
  for (let i = 0; i < inside.length; i++) {
    if (inside[i] === '"') i = stringEnd(inside, i);
    else if (inside[i] === "[" || inside[i] === "{") i = closing(inside, i);
    else if (inside[i] === ",") {
      items.push(inside.slice(from, i));
      from = i + 1;
    }
  }
  items.push(inside.slice(from));
  return items;
}
