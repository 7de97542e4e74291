/**
 * Test support: is a history of put / get / compare-and-set operations, recorded by concurrent
 * clients against a cluster under faults, linearizable? And the Recorder that builds such a history.
 *
 * Owns: the history format, recording it, and the verdict. Keys are independent registers (every
 * key starts absent), so each key is checked alone, by a Wing–Gong / Lowe search over the orders
 * the operations' intervals allow, memoising (set of linearized operations, value) as Porcupine
 * and Knossos do.
 * Never: talks to a server, or searches without bound — past its budget the verdict is "unknown".
 *
 * The history's rules:
 * - `call` is when the request was sent and `ret` when its answer arrived, in ms from
 *   performance.now(). Intervals that touch (one's `ret` equals another's `call`) count as
 *   concurrent.
 * - `ret` = Infinity means the outcome is unknown (a timeout, a connection error): the operation
 *   may take effect at any moment after `call`, or never. A cas's `result` is then undefined (and
 *   only then). A get whose outcome is unknown observed nothing: the checker ignores it.
 * - An operation that failed with an error etcd guarantees means it did not apply is not recorded
 *   at all (the Recorder's `failed()`).
 * - Write each value once (say client and sequence number): the verdict is right for any values,
 *   but the search stays fast under wide concurrency only when values are unique.
 */

export type Operation =
  & { readonly client: number; readonly key: string; readonly call: number; readonly ret: number }
  & (
    | { readonly kind: "put"; readonly value: string }
    /** `result` null: the key was absent. */
    | { readonly kind: "get"; readonly result: string | null }
    /** Sets `value` if the key holds `expected` (null: if the key is absent); `result` says it did. */
    | {
      readonly kind: "cas";
      readonly expected: string | null;
      readonly value: string;
      readonly result: boolean | undefined;
    }
  );

export type Verdict =
  | { readonly ok: true }
  | { readonly ok: false; readonly key: string; readonly explanation: string }
  | { readonly ok: "unknown"; readonly key: string; readonly explanation: string };

/** Configurations one key's search may memoise before it gives up. */
const MAX_STATES = 500_000;

/**
 * The first key whose operations no order explains, else the first key whose search ran out of
 * budget (`maxStates` configurations), else ok.
 */
export function checkLinearizable(
  history: readonly Operation[],
  options: { readonly maxStates?: number } = {},
): Verdict {
  const byKey = new Map<string, Operation[]>();
  for (const op of history) {
    if (!Number.isFinite(op.call) || !(op.ret >= op.call)) throw new RangeError(`bad interval: ${describe(op)}`);
    if (op.kind === "cas" && (op.result === undefined) !== (op.ret === Infinity)) {
      throw new TypeError(`a cas has a result exactly when its outcome is known: ${describe(op)}`);
    }
    if (op.kind === "get" && op.ret === Infinity) continue;
    const ops = byKey.get(op.key);
    if (ops === undefined) byKey.set(op.key, [op]);
    else ops.push(op);
  }
  let undecided: Verdict | undefined;
  for (const [key, ops] of byKey) {
    const verdict = checkKey(key, ops, options.maxStates ?? MAX_STATES);
    if (verdict.ok === false) return verdict;
    if (verdict.ok === "unknown") undecided ??= verdict;
  }
  return undecided ?? { ok: true };
}

/** One operation, compiled for the search: values as small integers (0 = absent). */
interface Step {
  readonly source: Operation;
  /** The value a get read or a cas compared with; -1 for a put. */
  readonly x: number;
  /** The value a put or a cas writes; -1 for a get. */
  readonly y: number;
  /** The value it requires to be current (a get; a cas that succeeded), else -1. */
  readonly needs: number;
  /** The value it requires not to be current (a cas that failed), else -1. */
  readonly refutes: number;
  /** The value it may write (a put; a cas that did not fail), else -1. */
  readonly gives: number;
  /** Never changes the value, whatever it is. */
  readonly readOnly: boolean;
  /**
   * A definite put: by when some put of another value, called after this one returned, had
   * returned too (Infinity if none is known to).
   */
  readonly overtaken: number;
  readonly definite: boolean;
  /** Its bit in `bits`. */
  readonly bits: Uint32Array;
  readonly slot: number;
}

const REJECT = -1;

/** The value after `step` from `value`, or REJECT if the step's result contradicts `value`. */
function next(value: number, step: Step): number {
  const op = step.source;
  if (op.kind === "put") return step.y;
  const match = value === step.x;
  if (op.kind === "get") return match ? value : REJECT;
  if (step.definite && match !== op.result) return REJECT;
  return match ? step.y : value;
}

/** A call or return in the time-ordered list the search lifts linearized operations out of. */
class Event {
  prev: Event = this;
  next: Event | null = null;
  /** A call's return. */
  match: Event = this;
  constructor(readonly index: number, readonly isCall: boolean, readonly time: number) {}
}

function lift(call: Event): void {
  const ret = call.match;
  call.prev.next = call.next;
  if (call.next) call.next.prev = call.prev;
  ret.prev.next = ret.next;
  if (ret.next) ret.next.prev = ret.prev;
}

function unlift(call: Event): void {
  const ret = call.match;
  ret.prev.next = ret;
  if (ret.next) ret.next.prev = ret;
  call.prev.next = call;
  if (call.next) call.next.prev = call;
}

/**
 * Wing–Gong with memoisation, pruned so that wide concurrency stays tractable; each pruning keeps
 * some order that works, if any does:
 * - no step may overwrite a value that something left needs unless something left may write it
 *   again, and a step of unknown outcome that would change nothing is left out;
 * - values nothing left mentions are interchangeable: configurations holding them are one, and of
 *   the puts of such values that could go next, only the one that must return first is tried;
 * - a read that can go now goes first; and while nothing left but failed cas mentions the current
 *   value, so does a put of a value nothing left mentions but gets that could go now (which then
 *   follow it) — unless that could hide from a failed cas the value it refutes (`safe`). Such a
 *   step is `forced`: if it fails, so does the configuration it was taken from.
 */
function checkKey(key: string, unordered: readonly Operation[], maxStates: number): Verdict {
  const ops = unordered.toSorted((a, b) => a.call - b.call);
  const unwritten = unwrittenRead(ops);
  if (unwritten) {
    return { ok: false, key, explanation: `${describe(unwritten)} saw a value no operation wrote before it returned` };
  }

  const values: (string | null)[] = [null];
  const ids = new Map<string, number>();
  const id = (value: string | null): number => {
    if (value === null) return 0;
    let n = ids.get(value);
    if (n === undefined) ids.set(value, n = values.push(value) - 1);
    return n;
  };
  const definiteCount = ops.filter((op) => op.ret !== Infinity).length;
  const bits = new Uint32Array(Math.ceil(definiteCount / 32));
  const unknownBits = new Uint32Array(Math.ceil((ops.length - definiteCount) / 32));
  // Definite puts by call, and from each on the one that returns first: what `overtaken` needs.
  const puts = ops.filter((op) => op.kind === "put" && op.ret !== Infinity);
  const soonest: Operation[] = [];
  for (let i = puts.length - 1; i >= 0; i--) {
    soonest[i] = i + 1 < puts.length && soonest[i + 1].ret < puts[i].ret ? soonest[i + 1] : puts[i];
  }
  const overtaken = (put: Operation & { kind: "put" }): number => {
    if (put.ret === Infinity) return Infinity;
    let low = 0;
    let high = puts.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (puts[mid].call > put.ret) high = mid;
      else low = mid + 1;
    }
    const other = soonest[low];
    // The first to return might write the same value, which hides nothing: then claim no bound.
    return other === undefined || (other.kind === "put" && other.value === put.value) ? Infinity : other.ret;
  };
  let definiteSlots = 0;
  let unknownSlots = 0;
  const steps: Step[] = ops.map((op) => {
    const definite = op.ret !== Infinity;
    const x = op.kind === "get" ? id(op.result) : op.kind === "cas" ? id(op.expected) : -1;
    const y = op.kind === "get" ? -1 : id(op.value);
    return {
      source: op,
      x,
      y,
      needs: op.kind === "get" || (op.kind === "cas" && op.result === true) ? x : -1,
      refutes: op.kind === "cas" && op.result === false ? x : -1,
      gives: op.kind === "put" || (op.kind === "cas" && op.result !== false) ? y : -1,
      readOnly: op.kind === "get" || (op.kind === "cas" && op.result === false),
      overtaken: op.kind === "put" ? overtaken(op) : Infinity,
      definite,
      bits: definite ? bits : unknownBits,
      slot: definite ? definiteSlots++ : unknownSlots++,
    };
  });

  // Per value, among the operations not yet linearized: those that mention it, need it, refute
  // it and may write it; and how many refute a value something may still write.
  const mentioned = new Int32Array(values.length);
  const needed = new Int32Array(values.length);
  const refuted = new Int32Array(values.length);
  const givers = new Int32Array(values.length);
  for (const step of steps) {
    if (step.x >= 0) mentioned[step.x]++;
    if (step.needs >= 0) needed[step.needs]++;
    if (step.refutes >= 0) refuted[step.refutes]++;
    if (step.gives >= 0) givers[step.gives]++;
  }
  let unsafeRefutes = steps.filter((step) => step.refutes >= 0 && givers[step.refutes] > 0).length;
  /** Marks `step` linearized (`by` = 1) or no longer (-1). */
  const take = (step: Step, by: 1 | -1) => {
    step.bits[step.slot >>> 5] ^= 1 << (step.slot & 31);
    if (step.x >= 0) mentioned[step.x] -= by;
    if (step.needs >= 0) needed[step.needs] -= by;
    if (step.refutes >= 0) {
      refuted[step.refutes] -= by;
      if (givers[step.refutes] > 0) unsafeRefutes -= by;
    }
    if (step.gives >= 0) {
      const had = givers[step.gives] > 0;
      givers[step.gives] -= by;
      if (had !== givers[step.gives] > 0) unsafeRefutes += had ? -refuted[step.gives] : refuted[step.gives];
    }
  };
  const linearized = (step: Step) => ((step.bits[step.slot >>> 5] >>> (step.slot & 31)) & 1) === 1;
  /** Overwriting `value` would leave something that needs it unable ever to see it. */
  const orphans = (value: number) => needed[value] > 0 && givers[value] === 0;
  /** The set of linearized operations and the value, exactly; compact while few are in flight. */
  const configuration = (value: number): string => {
    let low = 0;
    while (low < bits.length && bits[low] === 0xffffffff) low++;
    let high = bits.length;
    while (high > low && bits[high - 1] === 0) high--;
    let text = `${mentioned[value] === 0 ? "-" : value}:${low}:`;
    for (let w = low; w < high; w++) text += `${bits[w].toString(36)},`;
    for (const word of unknownBits) text += `:${word.toString(36)}`;
    return text;
  };

  const events = ops.flatMap((op, i) => {
    const call = new Event(i, true, op.call);
    call.match = new Event(i, false, op.ret);
    return [call, call.match];
  }).sort((a, b) => a.time - b.time || Number(b.isCall) - Number(a.isCall) || a.index - b.index);
  const head = new Event(-1, false, -Infinity);
  let tail = head;
  for (const event of events) {
    event.prev = tail;
    tail = tail.next = event;
  }

  const seen = new Set<string>();
  const stack: { readonly call: Event; readonly value: number; readonly forced: boolean }[] = [];
  let value = 0;
  let remaining = definiteCount;
  let deepest = { depth: -1, explanation: "" };
  /** Scratch, per value: gets among the candidates that read it; whether something may write it. */
  const ready = new Int32Array(values.length);
  const written = new Uint8Array(values.length);
  /**
   * Whether forcing `put` first could not hide from a failed cas the value it refutes: true unless
   * something left that may write that value was called before `put` returned, and the cas was
   * called before a put called after `put` returned had to have returned.
   */
  const safe = (put: Step): boolean => {
    if (unsafeRefutes === 0) return true;
    const { ret } = put.source;
    if (ret === Infinity) return false;
    const mark = (to: 0 | 1) => {
      for (let e = head.next; e !== null && e.time <= ret; e = e.next) {
        if (e.isCall && steps[e.index].gives >= 0) written[steps[e.index].gives] = to;
      }
    };
    mark(1);
    let found = false;
    for (let e = head.next; e !== null && e.time <= put.overtaken && !found; e = e.next) {
      found = e.isCall && steps[e.index].refutes >= 0 && written[steps[e.index].refutes] === 1;
    }
    mark(0);
    return !found;
  };
  /**
   * A put of a value nothing left mentions, while another such put must return sooner: if a way on
   * begins with this one, swapping the two makes one that begins with the other.
   */
  const outranked = (call: Event): boolean => {
    const { source, y } = steps[call.index];
    if (source.kind !== "put" || mentioned[y] !== 0) return false;
    for (let e = head.next; e !== null && e.isCall; e = e.next) {
      const other = steps[e.index];
      if (
        other.source.kind === "put" && mentioned[other.y] === 0 &&
        (other.source.ret < source.ret || (other.source.ret === source.ret && e.index < call.index))
      ) return true;
    }
    return false;
  };
  /** The step a new configuration must try alone, if there is one. */
  const forcedStep = (): Event | null => {
    for (let e = head.next; e !== null && e.isCall; e = e.next) {
      const step = steps[e.index];
      if (step.readOnly && next(value, step) !== REJECT) return e;
    }
    if (mentioned[value] !== refuted[value]) return null;
    for (let e = head.next; e !== null && e.isCall; e = e.next) {
      if (steps[e.index].source.kind === "get") ready[steps[e.index].x]++;
    }
    const puts: Event[] = [];
    for (let e = head.next; e !== null && e.isCall; e = e.next) {
      const { source, y } = steps[e.index];
      if (source.kind === "put" && mentioned[y] === ready[y]) puts.push(e);
    }
    for (let e = head.next; e !== null && e.isCall; e = e.next) {
      if (steps[e.index].source.kind === "get") ready[steps[e.index].x] = 0;
    }
    return puts.sort((a, b) => ops[a.index].ret - ops[b.index].ret).find((e) => safe(steps[e.index])) ?? null;
  };

  // While definite operations remain, a return lies ahead of `entry`; once none do, the unknown
  // ones left can all be taken never to have happened.
  let entry = forcedStep();
  let forced = entry !== null;
  entry ??= head.next;
  while (remaining > 0 && entry !== null) {
    let backtrack = false;
    if (!entry.isCall) {
      if (stack.length > deepest.depth) deepest = { depth: stack.length, explanation: explain(entry.index) };
      backtrack = true;
    } else {
      const step = steps[entry.index];
      const after = next(value, step);
      let skip = after === REJECT || (!step.definite && after === value) || (!forced && outranked(entry));
      if (!skip) {
        take(step, 1);
        skip = after !== value && orphans(value);
        if (skip) take(step, -1);
      }
      if (skip) {
        // Not a way on; if it was to be the only one tried, try them all after all.
        entry = forced ? head.next : entry.next;
        forced = false;
        continue;
      }
      const config = configuration(after);
      if (!seen.has(config)) {
        if (seen.size >= maxStates) {
          return {
            ok: "unknown",
            key,
            explanation: `gave up after ${maxStates} configurations, with at best ` +
              `${Math.max(deepest.depth, stack.length)} of ${ops.length} operations linearized`,
          };
        }
        seen.add(config);
        stack.push({ call: entry, value, forced });
        value = after;
        lift(entry);
        if (step.definite) remaining--;
        entry = forcedStep();
        forced = entry !== null;
        entry ??= head.next;
        continue;
      }
      take(step, -1);
      // Explored before, and failed: if forced, nothing else can go first here either.
      if (forced) backtrack = true;
      else {
        entry = entry.next;
        forced = false;
      }
    }
    if (!backtrack) continue;
    let top;
    do {
      top = stack.pop();
      if (top === undefined) return { ok: false, key, explanation: deepest.explanation };
      const step = steps[top.call.index];
      take(step, -1);
      unlift(top.call);
      value = top.value;
      if (step.definite) remaining++;
    } while (top.forced);
    entry = top.call.next;
    forced = false;
  }
  return { ok: true };

  /** Why operation `blocked` cannot be linearized next, from where the search stands. */
  function explain(blocked: number): string {
    const step = steps[blocked];
    const last = stack.at(-1);
    const holding = values[value] === null ? "absent" : `holding ${JSON.stringify(values[value])}`;
    let text = `no order explains ${describe(ops[blocked])}: at best ${stack.length} of ${ops.length} ` +
      `operations linearize before it${last ? `, the last ${describe(ops[last.call.index])}` : ""}, ` +
      `leaving the key ${holding}`;
    const after = next(value, step);
    if (after !== REJECT && after !== value && givers[value] === 0) {
      const needy = steps.find((other) => other !== step && other.needs === value && !linearized(other));
      if (needy) text += `, which ${describe(needy.source)} still needs and nothing may write again`;
    }
    return text;
  }
}

/** A get, or a successful cas, that saw a value nothing wrote before it returned. */
function unwrittenRead(ops: readonly Operation[]): Operation | undefined {
  const firstWrite = new Map<string, number>();
  for (const op of ops) {
    if (op.kind === "put" || (op.kind === "cas" && op.result !== false)) {
      firstWrite.set(op.value, Math.min(firstWrite.get(op.value) ?? Infinity, op.call));
    }
  }
  return ops.find((op) => {
    const saw = op.kind === "get" ? op.result : op.kind === "cas" && op.result === true ? op.expected : null;
    return saw !== null && !((firstWrite.get(saw) ?? Infinity) <= op.ret);
  });
}

function describe(op: Operation): string {
  const show = (value: string | null) => (value === null ? "absent" : JSON.stringify(value));
  const what = op.kind === "put"
    ? `put ${show(op.value)}`
    : op.kind === "get"
    ? `get → ${show(op.result)}`
    : `cas ${show(op.expected)} → ${show(op.value)}` +
      (op.result === undefined ? "" : op.result ? " succeeded" : " failed");
  const ret = op.ret === Infinity ? "outcome unknown" : `${op.ret.toFixed(3)} ms`;
  return `${what} (client ${op.client}, ${op.call.toFixed(3)} ms – ${ret})`;
}

/** What a client asks for; the Recorder adds the times and the result. */
export type Invocation =
  | { readonly kind: "put"; readonly value: string }
  | { readonly kind: "get" }
  | { readonly kind: "cas"; readonly expected: string | null; readonly value: string };

/** A get's answer is the value (null: absent), a cas's whether it set the value; a put has none. */
export type ResultOf<I extends Invocation> = I extends { kind: "get" } ? string | null
  : I extends { kind: "cas" } ? boolean
  : void;

export type Outcome<R> =
  | { readonly outcome: "ok"; readonly result: R }
  | { readonly outcome: "unknown" }
  | { readonly outcome: "failed" };

/** Answered: the result (none for a put). */
export function ok(): Outcome<void>;
export function ok<R>(result: R): Outcome<R>;
export function ok(result?: unknown): Outcome<unknown> {
  return { outcome: "ok", result };
}

/** No answer, or an error after which the operation may or may not have applied. */
export function unknown(): Outcome<never> {
  return { outcome: "unknown" };
}

/** An error etcd guarantees means the operation did not apply: it leaves no trace in the history. */
export function failed(): Outcome<never> {
  return { outcome: "failed" };
}

interface Invoked {
  readonly client: number;
  readonly key: string;
  readonly call: number;
  readonly op: Invocation;
  settled: Operation | "dropped" | undefined;
}

/**
 * Records a history: `const done = recorder.invoke(client, key, op)` just before the request is
 * sent, `done(ok(result))`, `done(unknown())` or `done(failed())` when its fate is known. An
 * operation still awaiting `done` when the history is taken counts as unknown.
 */
export class Recorder {
  readonly #now: () => number;
  readonly #invoked: Invoked[] = [];

  constructor(now: () => number = () => performance.now()) {
    this.#now = now;
  }

  invoke<I extends Invocation>(client: number, key: string, op: I): (outcome: Outcome<ResultOf<I>>) => void {
    const invoked: Invoked = { client, key, call: this.#now(), op, settled: undefined };
    this.#invoked.push(invoked);
    return (outcome) => {
      if (invoked.settled !== undefined) throw new Error(`${op.kind} by client ${client}: outcome given twice`);
      invoked.settled = outcome.outcome === "failed"
        ? "dropped"
        : outcome.outcome === "ok"
        ? complete(invoked, this.#now(), outcome.result)
        : complete(invoked, Infinity, undefined);
    };
  }

  history(): Operation[] {
    const history: Operation[] = [];
    for (const invoked of this.#invoked) {
      const op = invoked.settled ?? complete(invoked, Infinity, undefined);
      if (op !== "dropped") history.push(op);
    }
    return history;
  }
}

function complete({ client, key, call, op }: Invoked, ret: number, result: unknown): Operation | "dropped" {
  if (op.kind === "put") return { client, key, call, ret, kind: "put", value: op.value };
  if (op.kind === "get") {
    if (ret === Infinity) return "dropped";
    if (result !== null && typeof result !== "string") throw new TypeError(`get answered ${String(result)}`);
    return { client, key, call, ret, kind: "get", result };
  }
  const { expected, value } = op;
  if (ret === Infinity) return { client, key, call, ret, kind: "cas", expected, value, result: undefined };
  if (typeof result !== "boolean") throw new TypeError(`cas answered ${String(result)}`);
  return { client, key, call, ret, kind: "cas", expected, value, result };
}
