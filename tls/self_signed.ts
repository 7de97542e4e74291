/**
 * A self-signed certificate for --auto-tls and --peer-auto-tls, made without openssl: an ECDSA
 * P-256 key and an X.509 v3 certificate for the hosts a member serves on (as etcd's SelfCert makes
 * one: organisation "etcd", the hosts as IP addresses and DNS names, server and client use), DER
 * written by hand and signed with node:crypto.
 *
 * Owns: the certificate's encoding. Never: reads or writes files (files.ts does), or decides which
 * hosts (the caller's).
 */
import { generateKeyPairSync, randomBytes, sign } from "node:crypto";
import { isIP } from "node:net";

export interface CertifiedKey {
  /** PEM. */
  cert: string;
  /** PEM, PKCS#8. */
  key: string;
}

// ---- DER ----

function length(n: number): number[] {
  if (n < 0x80) return [n];
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return [0x80 | bytes.length, ...bytes];
}

const tlv = (tag: number, ...content: Uint8Array[]): Uint8Array => {
  const body = Buffer.concat(content);
  return Buffer.concat([Uint8Array.of(tag, ...length(body.length)), body]);
};
const sequence = (...items: Uint8Array[]) => tlv(0x30, ...items);
const set = (...items: Uint8Array[]) => tlv(0x31, ...items);
const explicit = (n: number, item: Uint8Array) => tlv(0xa0 | n, item);
const octets = (bytes: Uint8Array) => tlv(0x04, bytes);
const bits = (bytes: Uint8Array, unused = 0) => tlv(0x03, Uint8Array.of(unused), bytes);
const utf8 = (s: string) => tlv(0x0c, Buffer.from(s, "utf8"));
const boolean = (b: boolean) => tlv(0x01, Uint8Array.of(b ? 0xff : 0));

function integer(bytes: Uint8Array): Uint8Array {
  let at = 0;
  while (at < bytes.length - 1 && bytes[at] === 0 && bytes[at + 1] < 0x80) at++;
  const trimmed = bytes.subarray(at);
  return tlv(0x02, trimmed[0] >= 0x80 ? Buffer.concat([Uint8Array.of(0), trimmed]) : trimmed);
}

function oid(dotted: string): Uint8Array {
  const arcs = dotted.split(".").map(Number);
  const out = [40 * arcs[0] + arcs[1]];
  for (const arc of arcs.slice(2)) {
    const groups: number[] = [];
    for (let v = arc; ; v = Math.floor(v / 128)) {
      groups.unshift(v & 0x7f);
      if (v < 128) break;
    }
    out.push(...groups.map((g, i) => (i < groups.length - 1 ? g | 0x80 : g)));
  }
  return tlv(0x06, Uint8Array.from(out));
}

/** UTCTime until 2049, GeneralizedTime from 2050 (RFC 5280). */
function time(date: Date): Uint8Array {
  const iso = date.toISOString().replace(/[-:T]/g, "").slice(0, 14) + "Z";
  return date.getUTCFullYear() < 2050 ? tlv(0x17, Buffer.from(iso.slice(2), "ascii")) : tlv(0x18, Buffer.from(iso, "ascii"));
}

function ipBytes(ip: string): Uint8Array {
  if (isIP(ip) === 4) return Uint8Array.from(ip.split(".").map(Number));
  const [head, tail = ""] = ip.split("::");
  const groups = (s: string) => (s === "" ? [] : s.split(":").map((g) => parseInt(g, 16)));
  const left = groups(head);
  const right = ip.includes("::") ? groups(tail) : [];
  const all = [...left, ...Array(8 - left.length - right.length).fill(0), ...right];
  return Uint8Array.from(all.flatMap((g) => [g >> 8, g & 0xff]));
}

const OID = {
  ecdsaWithSha256: "1.2.840.10045.4.3.2",
  organization: "2.5.4.10",
  commonName: "2.5.4.3",
  basicConstraints: "2.5.29.19",
  keyUsage: "2.5.29.15",
  extKeyUsage: "2.5.29.37",
  subjectAltName: "2.5.29.17",
  serverAuth: "1.3.6.1.5.5.7.3.1",
  clientAuth: "1.3.6.1.5.5.7.3.2",
};

const extension = (id: string, critical: boolean, value: Uint8Array) =>
  sequence(oid(id), ...(critical ? [boolean(true)] : []), octets(value));

function pem(label: string, der: Uint8Array): string {
  const b64 = Buffer.from(der).toString("base64").match(/.{1,64}/g)!.join("\n");
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`;
}

/** A key and a certificate signed by it, valid from an hour ago for `validDays`, for `hosts` (names or IP addresses). */
export function selfSignedCertificate(hosts: readonly string[], validDays: number, now = new Date()): CertifiedKey {
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const name = sequence(set(sequence(oid(OID.organization), utf8("etcd"))), set(sequence(oid(OID.commonName), utf8(hosts[0] ?? "concord"))));
  const serial = randomBytes(16);
  serial[0] &= 0x7f;
  const algorithm = sequence(oid(OID.ecdsaWithSha256));
  const altNames = hosts.map((h) => (isIP(h) ? tlv(0x87, ipBytes(h)) : tlv(0x82, Buffer.from(h, "ascii"))));
  const tbs = sequence(
    explicit(0, integer(Uint8Array.of(2))),
    integer(serial),
    algorithm,
    name,
    sequence(time(new Date(now.getTime() - 3_600_000)), time(new Date(now.getTime() + validDays * 86_400_000))),
    name,
    publicKey.export({ type: "spki", format: "der" }),
    explicit(3, sequence(
      extension(OID.basicConstraints, true, sequence()),
      // digitalSignature and keyEncipherment: the top two of three bits used, five unused.
      extension(OID.keyUsage, true, bits(Uint8Array.of(0xa0), 5)),
      extension(OID.extKeyUsage, false, sequence(oid(OID.serverAuth), oid(OID.clientAuth))),
      ...(altNames.length > 0 ? [extension(OID.subjectAltName, false, sequence(...altNames))] : []),
    )),
  );
  const signature = sign("sha256", tbs, privateKey);
  const certificate = sequence(tbs, algorithm, bits(signature));
  return { cert: pem("CERTIFICATE", certificate), key: privateKey.export({ type: "pkcs8", format: "pem" }) as string };
}
