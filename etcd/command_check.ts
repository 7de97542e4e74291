/**
 * Reads a command from bytes nobody vouches for — a write a peer forwards, an entry from the log —
 * and answers it only if the member can apply it: JSON of the right shape, every field of its type,
 * a txn nested no deeper than TXN_NESTING_MAX, and etcd's request rules (request_checks.ts) holding.
 * A membership command never travels in a plain entry (it comes from a membership entry), so one
 * that does is refused too.
 *
 * Owns: trusting nothing in a command's bytes. Never: checks that need the state (a missing lease,
 * a compacted revision — the applier answers those), or encodes (commands.ts does).
 */
import { ALARM_ACTIONS, ALARM_TYPES } from "./alarms.ts";
import { PERM_TYPES, type PermType } from "./auth.ts";
import { decodeCommand, type ProposedCommand } from "./commands.ts";
import { checkDeleteRange, checkPut, checkTxn } from "./request_checks.ts";
import type { DeleteRangeRequest, PutRequest, TxnRequest } from "./types.ts";

/** How deep txns may nest inside a command (etcd's own limit is on ops, not depth; this keeps a walk bounded). */
export const TXN_NESTING_MAX = 32;

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === "object" && !Array.isArray(v) && !(v instanceof Uint8Array);
const isBytes = (v: unknown): v is Uint8Array => v instanceof Uint8Array;
const isInt = (v: unknown): v is number => Number.isSafeInteger(v);
const isBool = (v: unknown): v is boolean => typeof v === "boolean";
const isInt64 = (v: unknown): v is bigint => typeof v === "bigint";
const isText = (v: unknown): v is string => typeof v === "string";
const isTexts = (v: unknown): v is string[] => Array.isArray(v) && v.every(isText);

function fields(o: Obj, checks: Record<string, (v: unknown) => boolean>): string | undefined {
  for (const [name, ok] of Object.entries(checks)) if (!ok(o[name])) return `field ${name} is missing or of the wrong type`;
}

const putShape = { key: isBytes, value: isBytes, lease: isInt64, prevKv: isBool, ignoreValue: isBool, ignoreLease: isBool };
const deleteShape = { key: isBytes, rangeEnd: isBytes, prevKv: isBool };
const rangeShape = {
  key: isBytes, rangeEnd: isBytes, limit: isInt, revision: isInt, sortOrder: isInt, sortTarget: isInt, serializable: isBool,
  keysOnly: isBool, countOnly: isBool, minModRevision: isInt, maxModRevision: isInt, minCreateRevision: isInt, maxCreateRevision: isInt,
};
const compareShape = {
  result: (v: unknown) => isInt(v) && v >= 0 && v <= 3, target: (v: unknown) => isInt(v) && v >= 0 && v <= 4, key: isBytes,
  rangeEnd: isBytes, version: isInt, createRevision: isInt, modRevision: isInt, value: isBytes, lease: isInt64,
};

function txnShape(t: unknown, depth: number): string | undefined {
  if (depth > TXN_NESTING_MAX) return `txns nested deeper than ${TXN_NESTING_MAX}`;
  if (!isObj(t) || !Array.isArray(t.compare) || !Array.isArray(t.success) || !Array.isArray(t.failure)) return "a txn without compare, success and failure lists";
  for (const c of t.compare) {
    if (!isObj(c)) return "a compare that is not an object";
    const bad = fields(c, compareShape);
    if (bad) return `compare: ${bad}`;
  }
  for (const op of [...t.success, ...t.failure]) {
    const bad = opShape(op, depth);
    if (bad) return bad;
  }
}

function opShape(op: unknown, depth: number): string | undefined {
  if (!isObj(op)) return "a txn op that is not an object";
  switch (op.kind) {
    case "range": return isObj(op.range) ? fields(op.range, rangeShape) : "a range op without its request";
    case "put": return isObj(op.put) ? fields(op.put, putShape) : "a put op without its request";
    case "deleteRange": return isObj(op.deleteRange) ? fields(op.deleteRange, deleteShape) : "a delete op without its request";
    case "txn": return txnShape(op.txn, depth + 1);
    default: return `a txn op of kind ${JSON.stringify(op.kind)}`;
  }
}

/** What is wrong with a decoded command, or undefined if the member can apply it. */
function problem(c: Obj): string | undefined {
  if (c.rid !== undefined && !isText(c.rid)) return "a request id that is not text";
  if (c.auth !== undefined && !(isObj(c.auth) && isText(c.auth.user) && isInt(c.auth.revision))) return "a caller of the wrong shape";
  switch (c.op) {
    case "put":
      return !isObj(c.put) ? "a put without its request" : fields(c.put, putShape) ?? checkPut(c.put as unknown as PutRequest)?.message;
    case "deleteRange":
      return !isObj(c.deleteRange)
        ? "a delete without its request"
        : fields(c.deleteRange, deleteShape) ?? checkDeleteRange(c.deleteRange as unknown as DeleteRangeRequest)?.message;
    case "txn":
      return txnShape(c.txn, 0) ?? checkTxn(c.txn as TxnRequest)?.message;
    case "compact":
      return isObj(c.compact) ? fields(c.compact, { revision: isInt, physical: isBool }) : "a compaction without its request";
    case "leaseGrant": return fields(c, { id: isInt64, ttl: isInt });
    case "leaseRevoke": return fields(c, { id: isInt64 });
    case "leaseCheckpoint":
      return Array.isArray(c.checkpoints) && c.checkpoints.every((p) => isObj(p) && isInt64(p.id) && isInt(p.remaining))
        ? undefined
        : "lease checkpoints of the wrong shape";
    case "authEnable":
    case "authDisable":
      return undefined;
    case "authenticate": return fields(c, { name: isText, tokenPrefix: isText });
    case "userAdd": return fields(c, { name: isText, password: isText, noPassword: isBool });
    case "userDelete": return fields(c, { name: isText });
    case "userChangePassword": return fields(c, { name: isText, password: isText });
    case "userGrantRole": return fields(c, { user: isText, role: isText });
    case "userRevokeRole": return fields(c, { name: isText, role: isText });
    case "roleAdd": return fields(c, { name: isText });
    case "roleDelete": return fields(c, { role: isText });
    case "roleGrantPermission":
      return isObj(c.perm) ? fields(c.perm, { permType: (v) => PERM_TYPES.includes(v as PermType), key: isBytes, rangeEnd: isBytes }) : "a grant without its permission";
    case "roleRevokePermission": return fields(c, { role: isText, key: isBytes, rangeEnd: isBytes });
    case "publish": return fields(c, { id: isText, name: isText, clientUrls: isTexts });
    case "updatePeers": return fields(c, { id: isText, peerUrls: isTexts });
    case "alarm":
      return fields(c, {
        action: (v) => ALARM_ACTIONS.includes(v as never), memberId: (v) => isText(v) && /^[0-9a-f]{1,16}$/.test(v),
        alarm: (v) => ALARM_TYPES.includes(v as never),
      });
    default: return `an operation ${JSON.stringify(c.op)} no plain entry carries`;
  }
}

/** The command `data` holds, or why the member cannot apply it. */
export function readCommand(data: Uint8Array): ProposedCommand | { error: string } {
  let decoded: unknown;
  try {
    decoded = decodeCommand(data);
  } catch (e) {
    return { error: `not a command: ${(e as Error).message}` };
  }
  if (!isObj(decoded)) return { error: "not a command: not an object" };
  const bad = problem(decoded);
  return bad === undefined ? decoded as unknown as ProposedCommand : { error: bad };
}
