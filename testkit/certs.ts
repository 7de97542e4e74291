/**
 * Test support: certificates made with Debian's openssl — a CA, and certificates it signs for
 * 127.0.0.1 and localhost — and keys for signed auth tokens, written as PEM files in a temporary
 * directory.
 *
 * Owns: the openssl invocations and the files. Never: decides who trusts what (tests do).
 */
import { execFileSync } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tempDir } from "./processes.ts";

export interface CertFiles {
  cert: string;
  key: string;
}

export interface TestCa extends CertFiles {
  /** A certificate and key this CA signs, with `commonName` as its CN. */
  issue(commonName: string): CertFiles;
}

const OPENSSL = "/usr/bin/openssl";

function openssl(args: string[]): void {
  if (!existsSync(OPENSSL)) throw new Error(`${OPENSSL} is missing: run scripts/install-test-deps.sh`);
  execFileSync(OPENSSL, args, { stdio: ["ignore", "ignore", "pipe"] });
}

/** A new CA (named `name`) in a directory of its own. */
export function makeCa(name: string): TestCa {
  const dir = tempDir(`ca-${name}`);
  const ca = { cert: join(dir, "ca.crt"), key: join(dir, "ca.key") };
  openssl(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", ca.key, "-out", ca.cert, "-days", "2", "-subj", `/CN=${name}`]);
  const ext = join(dir, "ext.cnf");
  writeFileSync(ext, "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n");
  return {
    ...ca,
    issue(commonName: string): CertFiles {
      const out = { cert: join(dir, `${commonName}.crt`), key: join(dir, `${commonName}.key`) };
      const csr = join(dir, `${commonName}.csr`);
      openssl(["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", out.key, "-out", csr, "-subj", `/CN=${commonName}`]);
      openssl(["x509", "-req", "-in", csr, "-CA", ca.cert, "-CAkey", ca.key, "-CAcreateserial", "-out", out.cert, "-days", "2", "-extfile", ext]);
      return out;
    },
  };
}

/** Keys for etcd's JWT tokens, as its docs make them: an RSA pair (the private key in PKCS#1, openssl's "traditional" form) and an EC P-256 pair. */
export interface JwtKeyFiles {
  rsaPrivate: string;
  rsaPublic: string;
  ecPrivate: string;
  ecPublic: string;
  /** An HMAC secret (HS256 takes the priv-key file's bytes). */
  secret: string;
}

export function makeJwtKeys(): JwtKeyFiles {
  const dir = tempDir("jwt-keys");
  const files = {
    rsaPrivate: join(dir, "app.rsa"), rsaPublic: join(dir, "app.rsa.pub"),
    ecPrivate: join(dir, "app.ec"), ecPublic: join(dir, "app.ec.pub"), secret: join(dir, "app.secret"),
  };
  openssl(["genrsa", "-traditional", "-out", files.rsaPrivate, "2048"]);
  openssl(["rsa", "-in", files.rsaPrivate, "-pubout", "-out", files.rsaPublic]);
  openssl(["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", files.ecPrivate]);
  openssl(["ec", "-in", files.ecPrivate, "-pubout", "-out", files.ecPublic]);
  openssl(["rand", "-hex", "-out", files.secret, "32"]);
  return files;
}
