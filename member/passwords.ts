/**
 * Passwords as the auth store keeps them: a salted scrypt hash (etcd uses bcrypt; scrypt is in
 * node:crypto on Bun and Deno alike), made and checked on the thread pool, never on the member's
 * event loop, and compared in constant time.
 *
 * Owns: the hash's format, `scrypt$<N>$<r>$<p>$<salt>$<hash>` (base64), so a cost raised later
 * still checks passwords hashed before. Never: decides who may log in (the auth store does).
 */
import { randomBytes, scrypt, timingSafeEqual } from "node:crypto";
import { PASSWORD_SCRYPT_COST, PASSWORD_SCRYPT_COST_MAX } from "../config/limits.ts";

const BLOCK_SIZE = 8;
const PARALLEL = 1;
const HASH_BYTES = 32;
const SALT_BYTES = 16;

function derive(password: string, salt: Buffer, n: number, r: number, p: number): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(password, salt, HASH_BYTES, { N: n, r, p, maxmem: 256 * n * r + 1024 * 1024 }, (e, key) => (e ? reject(e) : resolve(key)))
  );
}

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const hash = await derive(password, salt, PASSWORD_SCRYPT_COST, BLOCK_SIZE, PARALLEL);
  return ["scrypt", PASSWORD_SCRYPT_COST, BLOCK_SIZE, PARALLEL, salt.toString("base64"), hash.toString("base64")].join("$");
}

/** Whether `password` is the one `stored` was made from; false for anything not in the format. */
export async function passwordMatches(password: string, stored: string): Promise<boolean> {
  const [scheme, n, r, p, salt, hash] = stored.split("$");
  const [cost, block, parallel] = [Number(n), Number(r), Number(p)];
  const sane = [cost, block, parallel].every(Number.isSafeInteger) && cost > 1 && cost <= PASSWORD_SCRYPT_COST_MAX && block >= 1 && block <= 32 && parallel === 1;
  if (scheme !== "scrypt" || hash === undefined || !sane) return false;
  const expected = Buffer.from(hash, "base64");
  const got = await derive(password, Buffer.from(salt, "base64"), cost, block, parallel);
  return got.length === expected.length && timingSafeEqual(got, expected);
}
