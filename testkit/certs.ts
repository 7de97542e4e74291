/**
 * Test support: certificates made with Debian's openssl — a CA, and certificates it signs for
 * 127.0.0.1 and localhost — written as PEM files in a temporary directory.
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
