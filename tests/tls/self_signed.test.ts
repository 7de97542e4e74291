/**
 * The self-signed certificates --auto-tls makes (tls/self_signed.ts, DER written by hand): openssl
 * reads and verifies them, they name every host given (IPv4, IPv6, DNS) and are usable for both
 * server and client TLS, and the key is the certificate's.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createPrivateKey, X509Certificate } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { tempDir } from "../../testkit/processes.ts";
import { selfSignedCertificate } from "../../tls/self_signed.ts";

test("self-signed > openssl verifies the certificate; it names every host and fits its key", () => {
  const now = new Date("2049-12-31T23:30:00Z");
  const made = selfSignedCertificate(["127.0.0.1", "::1", "fe80::1:2", "member-1.example"], 365, now);
  const x509 = new X509Certificate(made.cert);
  assert.equal(x509.subjectAltName, "IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1, IP Address:FE80:0:0:0:0:0:1:2, DNS:member-1.example");
  assert.ok(x509.checkPrivateKey(createPrivateKey(made.key)));
  assert.ok(x509.verify(x509.publicKey), "not signed by its own key");
  // Valid from an hour before `now` for 365 days: the end falls past 2049, written as GeneralizedTime.
  assert.equal(new Date(x509.validFrom).toISOString(), "2049-12-31T22:30:00.000Z");
  assert.equal(new Date(x509.validTo).toISOString(), "2050-12-31T23:30:00.000Z");
  const dir = tempDir("self-signed");
  writeFileSync(join(dir, "cert.pem"), made.cert);
  const text = execFileSync("/usr/bin/openssl", ["x509", "-in", join(dir, "cert.pem"), "-noout", "-text"], { encoding: "utf8" });
  assert.match(text, /TLS Web Server Authentication, TLS Web Client Authentication/);
  assert.match(text, /Subject: O = etcd, CN = 127\.0\.0\.1/);
  const verified = execFileSync("/usr/bin/openssl", ["verify", "-attime", String(Math.floor(now.getTime() / 1000) + 60), "-CAfile", join(dir, "cert.pem"), join(dir, "cert.pem")], { encoding: "utf8" });
  assert.match(verified, /: OK/);
});
