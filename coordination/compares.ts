/**
 * The one compare the recipes make: a key's create revision is the given one (0: the key does not
 * exist) — clientv3's Compare(CreateRevision(key), "=", rev).
 *
 * Owns: that compare's shape. Never: anything else.
 */
import { type Bytes, type Compare, CompareResult, CompareTarget, EMPTY_BYTES } from "../etcd/types.ts";

export function createRevisionIs(key: Bytes, createRevision: number): Compare {
  return {
    result: CompareResult.EQUAL, target: CompareTarget.CREATE, key, rangeEnd: EMPTY_BYTES,
    version: 0, createRevision, modRevision: 0, value: EMPTY_BYTES, lease: 0n,
  };
}
