/**
 * The TLS material a member serves and dials with, read once at start-up: the certificate, key and
 * CA files the flags name, or for --auto-tls / --peer-auto-tls a self-signed pair in
 * `<data-dir>/fixtures/client` or `fixtures/peer` (made once, then reused, as etcd does).
 *
 * Owns: reading and making those files, and checking they parse. Never: listens or dials.
 */
import { X509Certificate, createPrivateKey } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { AUTO_TLS_VALID_DAYS } from "../config/defaults.ts";
import type { TlsSettings, TlsSide } from "../config/tls.ts";
import { selfSignedCertificate } from "./self_signed.ts";

/** PEM text for one side of a member. */
export interface TlsMaterial {
  cert: string;
  key: string;
  /** The CA the other side's certificates must be signed by; undefined: any (auto TLS), none asked for. */
  ca?: string;
  /** Whether the other side must present a certificate `ca` signed. */
  requireCertificate: boolean;
  /** Self-signed (auto TLS): whoever dials with it verifies no server either, as etcd's auto TLS does not. */
  selfSigned: boolean;
}

/** The material for one side, undefined when the settings give it no certificate, or why it cannot be had. */
export function loadTls(side: TlsSide, settings: TlsSettings, dataDir: string, hosts: readonly string[]): TlsMaterial | undefined | { error: string } {
  const ca = settings.trustedCaFile === undefined ? undefined : readPem(settings.trustedCaFile);
  if (typeof ca === "object") return ca;
  if (ca !== undefined && !parses(ca, "cert")) return { error: `${settings.trustedCaFile}: not a PEM certificate` };
  const common = { ca, requireCertificate: settings.clientCertAuth };
  if (settings.certFile !== undefined && settings.keyFile !== undefined) {
    const cert = readPem(settings.certFile);
    if (typeof cert === "object") return cert;
    const key = readPem(settings.keyFile);
    if (typeof key === "object") return key;
    if (!parses(cert, "cert")) return { error: `${settings.certFile}: not a PEM certificate` };
    if (!parses(key, "key")) return { error: `${settings.keyFile}: not a PEM private key` };
    if (!new X509Certificate(cert).checkPrivateKey(createPrivateKey(key))) return { error: `${settings.keyFile} is not the key of ${settings.certFile}` };
    return { cert, key, ...common, selfSigned: false };
  }
  if (!settings.autoTls) return undefined;
  const dir = join(dataDir, "fixtures", side);
  const [certPath, keyPath] = [join(dir, "cert.pem"), join(dir, "key.pem")];
  if (!existsSync(certPath) || !existsSync(keyPath)) {
    const made = selfSignedCertificate(hosts, AUTO_TLS_VALID_DAYS);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    writeFileSync(keyPath, made.key, { mode: 0o600 });
    writeFileSync(certPath, made.cert, { mode: 0o644 });
  }
  const cert = readPem(certPath);
  const key = readPem(keyPath);
  if (typeof cert === "object") return cert;
  if (typeof key === "object") return key;
  return { cert, key, ...common, selfSigned: true };
}

function readPem(path: string): string | { error: string } {
  try {
    return readFileSync(path, "utf8");
  } catch (e) {
    return { error: `cannot read ${path}: ${(e as Error).message}` };
  }
}

function parses(pem: string, what: "cert" | "key"): boolean {
  try {
    if (what === "cert") new X509Certificate(pem);
    else createPrivateKey(pem);
    return true;
  } catch {
    return false;
  }
}
