/**
 * Configuration: etcd's flags and ETCD_* variables, a flag winning over its variable, etcd's
 * defaults, and a clear refusal of anything malformed.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { parseConfig } from "../../config/flags.ts";

test("config > defaults are etcd's, on loopback", () => {
  const r = parseConfig([], {});
  assert.ok(r.ok);
  assert.equal(r.config.name, "default");
  assert.equal(r.config.dataDir, "default.etcd");
  assert.deepEqual(r.config.listenClientUrls.map(String), ["http://127.0.0.1:2379/"]);
  assert.deepEqual(r.config.advertiseClientUrls, ["http://127.0.0.1:2379"]);
  assert.equal(r.config.initialClusterToken, "etcd-cluster");
});

test("config > flags in both spellings, and the data dir follows the name", () => {
  const r = parseConfig(["--name", "n1", "--listen-client-urls=http://127.0.0.1:5000,http://127.0.0.1:5001"], {});
  assert.ok(r.ok);
  assert.equal(r.config.dataDir, "n1.etcd");
  assert.deepEqual(r.config.listenClientUrls.map((u) => u.port), ["5000", "5001"]);
  assert.deepEqual(r.config.advertiseClientUrls, ["http://127.0.0.1:5000", "http://127.0.0.1:5001"]);
});

test("config > environment variables, and a flag wins over its variable", () => {
  const env = { ETCD_NAME: "from-env", ETCD_DATA_DIR: "/tmp/env-dir", ETCD_ADVERTISE_CLIENT_URLS: "http://127.0.0.9:2379" };
  const r = parseConfig(["--data-dir", "/tmp/flag-dir"], env);
  assert.ok(r.ok);
  assert.equal(r.config.name, "from-env");
  assert.equal(r.config.dataDir, "/tmp/flag-dir");
  assert.deepEqual(r.config.advertiseClientUrls, ["http://127.0.0.9:2379"]);
});

test("config > malformed input is refused with the reason", () => {
  const cases: [string[], RegExp][] = [
    [["--bogus", "1"], /unknown flag "--bogus"/],
    [["--name"], /--name needs a value/],
    [["--listen-client-urls", "not a url"], /is not a URL/],
    [["--listen-client-urls", "https://127.0.0.1:2379"], /only http:\/\//],
    [["--listen-client-urls", "http://127.0.0.1"], /needs a port/],
  ];
  for (const [argv, message] of cases) {
    const r = parseConfig(argv, {});
    assert.ok(!r.ok && "error" in r, argv.join(" "));
    assert.match(r.error, message);
  }
  const help = parseConfig(["--help"], {});
  assert.ok(!help.ok && "help" in help);
});
