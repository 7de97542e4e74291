/**
 * Configuration: etcd's flags and ETCD_* variables, a flag winning over its variable, etcd's
 * defaults, and a clear refusal of anything malformed.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { parseConfig, usage } from "../../config/flags.ts";
import { DEFAULT_SNAPSHOT_COUNT } from "../../config/defaults.ts";

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
    [["--listen-client-urls", "https://127.0.0.1:2379"], /^TLS key\/cert \(--cert-file, --key-file\) must be provided for client url https:\/\/127\.0\.0\.1:2379 with HTTPS scheme$/],
    [["--listen-peer-urls", "https://127.0.0.1:2380"], /^cannot listen on TLS for 127\.0\.0\.1:2380: KeyFile and CertFile are not presented$/],
    [["--listen-client-urls", "ftp://127.0.0.1:2379"], /URL scheme must be http or https/],
    [["--cert-file", "c.pem"], /must be given together/],
    [["--client-cert-auth", "--cert-file", "c", "--key-file", "k"], /--client-cert-auth needs --trusted-ca-file/],
    [["--auto-tls=maybe"], /invalid boolean value "maybe" for flag -auto-tls/],
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

test("config > cluster defaults are etcd's: a one-member new cluster of this member's peer URLs", () => {
  const r = parseConfig([], {});
  assert.ok(r.ok);
  assert.deepEqual(r.config.listenPeerUrls.map(String), ["http://127.0.0.1:2380/"]);
  assert.deepEqual(r.config.initialAdvertisePeerUrls, ["http://127.0.0.1:2380"]);
  assert.deepEqual(r.config.initialCluster, [{ name: "default", peerUrls: ["http://127.0.0.1:2380"] }]);
  assert.equal(r.config.initialClusterState, "new");
  assert.equal(r.config.heartbeatIntervalMs, 100);
  assert.equal(r.config.electionTimeoutMs, 1000);
  assert.equal(r.config.snapshotCount, DEFAULT_SNAPSHOT_COUNT);
});

test("config > the default initial cluster follows --name and every advertised peer URL", () => {
  const r = parseConfig(["--name", "n1", "--initial-advertise-peer-urls", "http://127.0.0.1:7001/,http://127.0.0.1:7002"], {});
  assert.ok(r.ok);
  assert.deepEqual(r.config.initialCluster, [{ name: "n1", peerUrls: ["http://127.0.0.1:7001", "http://127.0.0.1:7002"] }]);
});

test("config > --initial-cluster: members in the order given, a repeated name gathering its URLs", () => {
  const r = parseConfig([
    "--name=m2",
    "--initial-advertise-peer-urls=http://127.0.0.1:7002,http://127.0.0.1:7012",
    "--initial-cluster=m1=http://127.0.0.1:7001/, m2=http://127.0.0.1:7012,m3=http://127.0.0.1:7003,,m2=http://127.0.0.1:7002",
  ], {});
  assert.ok(r.ok);
  assert.deepEqual(r.config.initialCluster, [
    { name: "m1", peerUrls: ["http://127.0.0.1:7001"] },
    { name: "m2", peerUrls: ["http://127.0.0.1:7012", "http://127.0.0.1:7002"] },
    { name: "m3", peerUrls: ["http://127.0.0.1:7003"] },
  ]);
});

test("config > cluster flags from the environment, a flag winning, an empty variable unset", () => {
  const env = {
    ETCD_NAME: "m1",
    ETCD_LISTEN_PEER_URLS: "http://127.0.0.1:7001",
    ETCD_INITIAL_ADVERTISE_PEER_URLS: "http://127.0.0.1:7001",
    ETCD_INITIAL_CLUSTER: "m1=http://127.0.0.1:7001,m2=http://127.0.0.1:7002",
    ETCD_INITIAL_CLUSTER_STATE: "existing",
    ETCD_HEARTBEAT_INTERVAL: "50",
    ETCD_ELECTION_TIMEOUT: "500",
    ETCD_SNAPSHOT_COUNT: "",
  };
  const fromEnv = parseConfig([], env);
  assert.ok(fromEnv.ok);
  assert.deepEqual(fromEnv.config.listenPeerUrls.map((u) => u.port), ["7001"]);
  assert.deepEqual(fromEnv.config.initialCluster.map((m) => m.name), ["m1", "m2"]);
  assert.equal(fromEnv.config.initialClusterState, "existing");
  assert.equal(fromEnv.config.heartbeatIntervalMs, 50);
  assert.equal(fromEnv.config.electionTimeoutMs, 500);
  assert.equal(fromEnv.config.snapshotCount, DEFAULT_SNAPSHOT_COUNT);

  const flags = ["--listen-peer-urls", "http://127.0.0.1:7101", "--initial-cluster", "m1=http://127.0.0.1:7001",
    "--initial-cluster-state", "new", "--heartbeat-interval", "20", "--election-timeout", "200", "--snapshot-count", "5"];
  const r = parseConfig(flags, env);
  assert.ok(r.ok);
  assert.deepEqual(r.config.listenPeerUrls.map((u) => u.port), ["7101"]);
  assert.deepEqual(r.config.initialCluster, [{ name: "m1", peerUrls: ["http://127.0.0.1:7001"] }]);
  assert.equal(r.config.initialClusterState, "new");
  assert.equal(r.config.heartbeatIntervalMs, 20);
  assert.equal(r.config.electionTimeoutMs, 200);
  assert.equal(r.config.snapshotCount, 5);
});

test("config > a snapshot count of 0 means the default", () => {
  const r = parseConfig(["--snapshot-count", "0"], {});
  assert.ok(r.ok);
  assert.equal(r.config.snapshotCount, DEFAULT_SNAPSHOT_COUNT);
});

test("config > joining an existing cluster needs this member listed, under any URLs", () => {
  const r = parseConfig(["--name", "m3", "--initial-cluster-state", "existing", "--initial-cluster", "m1=http://127.0.0.1:7001,m3=http://127.0.0.1:7003"], {});
  assert.ok(r.ok);
  assert.deepEqual(r.config.initialCluster[1], { name: "m3", peerUrls: ["http://127.0.0.1:7003"] });
});

test("config > malformed cluster flags are refused in etcd's words", () => {
  const a = ["--name", "a"];
  const cases: [string[], Record<string, string>, string][] = [
    [["--initial-cluster-state", "x"], {}, 'invalid value "x" for flag -initial-cluster-state: invalid value'],
    [[], { ETCD_INITIAL_CLUSTER_STATE: "NEW" }, 'invalid value "NEW" for ETCD_INITIAL_CLUSTER_STATE: invalid value'],
    [["--heartbeat-interval", "abc"], {}, 'invalid value "abc" for flag -heartbeat-interval: parse error'],
    [["--election-timeout=-1"], {}, 'invalid value "-1" for flag -election-timeout: parse error'],
    [["--snapshot-count", "1e3"], {}, 'invalid value "1e3" for flag -snapshot-count: parse error'],
    [[], { ETCD_ELECTION_TIMEOUT: "1.5" }, 'invalid value "1.5" for ETCD_ELECTION_TIMEOUT: parse error'],
    [["--heartbeat-interval", "0"], {}, "--heartbeat-interval must be >0 (set to 0ms)"],
    [["--election-timeout", "0"], {}, "--election-timeout must be >0 (set to 0ms)"],
    [["--heartbeat-interval", "300"], {}, "--election-timeout[1000ms] should be at least as 5 times as --heartbeat-interval[300ms]"],
    [["--election-timeout", "60000", "--heartbeat-interval", "10000"], {}, "--election-timeout[60000ms] is too long, and should be set less than 50000ms"],
    [["--initial-cluster", "a=http://127.0.0.1:2380"], {}, `couldn't find local name "default" in the initial cluster configuration`],
    [[...a, "--initial-cluster", ""], {}, `couldn't find local name "a" in the initial cluster configuration`],
    [[...a, "--initial-cluster-state", "existing", "--initial-cluster", "b=http://127.0.0.1:2380"], {}, `couldn't find local name "a" in the initial cluster configuration`],
    [[...a, "--initial-cluster", "a=http://127.0.0.1:2381"], {}, "--initial-cluster has a=http://127.0.0.1:2381 but missing from --initial-advertise-peer-urls=http://127.0.0.1:2380"],
    [[...a, "--initial-cluster", "a=http://127.0.0.1:2380,a=http://127.0.0.1:2381"], {}, "--initial-cluster has a=http://127.0.0.1:2381 but missing from --initial-advertise-peer-urls=http://127.0.0.1:2380"],
    [[...a, "--initial-advertise-peer-urls", "http://127.0.0.1:2381,http://127.0.0.1:2380", "--initial-cluster", "a=http://127.0.0.1:2380"], {},
      "--initial-advertise-peer-urls has http://127.0.0.1:2381 but missing from --initial-cluster=a=http://127.0.0.1:2380,a=http://127.0.0.1:2381"],
    [[...a, "--initial-cluster", "b=http://127.0.0.1:2380,a=http://127.0.0.1:2380"], {}, "initial cluster a=http://127.0.0.1:2380,b=http://127.0.0.1:2380 has duplicate url"],
    [[...a, "--initial-cluster-state", "existing", "--initial-cluster", "a=http://127.0.0.1:9,b=http://127.0.0.1:9"], {}, "initial cluster a=http://127.0.0.1:9,b=http://127.0.0.1:9 has duplicate url"],
    [[...a, "--initial-cluster", "a"], {}, '--initial-cluster: "a" is not name=url'],
    [[...a, "--initial-cluster", "=http://127.0.0.1:2380"], {}, '--initial-cluster: "=http://127.0.0.1:2380" is not name=url'],
    [[...a, "--initial-cluster", "a="], {}, "--initial-cluster: no URL given"],
    [[...a, "--initial-cluster", "a=foo"], {}, '--initial-cluster: "foo" is not a URL (expected e.g. http://127.0.0.1:2379)'],
    [[...a, "--initial-cluster", "a=http://127.0.0.1"], {}, '--initial-cluster: "http://127.0.0.1" needs a port'],
    [["--listen-peer-urls", "https://127.0.0.1:2380"], {}, "cannot listen on TLS for 127.0.0.1:2380: KeyFile and CertFile are not presented"],
    [["--listen-peer-urls", ""], {}, "--listen-peer-urls: no URL given"],
  ];
  for (const [argv, env, message] of cases) {
    const r = parseConfig(argv, env);
    assert.ok(!r.ok && "error" in r, `${argv.join(" ")} ${JSON.stringify(env)}`);
    assert.equal(r.error, message);
  }
});

test("config > usage lists every flag with its variable", () => {
  for (const flag of ["listen-peer-urls", "initial-cluster", "initial-cluster-state", "heartbeat-interval", "election-timeout", "snapshot-count"]) {
    assert.match(usage(), new RegExp(`--${flag} .*\\n.*env ETCD_${flag.toUpperCase().replaceAll("-", "_")}\\n`));
  }
});

test("config > watch intervals are Go durations, from flags or the environment", () => {
  const r = parseConfig(["--experimental-watch-progress-notify-interval", "1m30s", "--sse-heartbeat-interval=500ms"], {});
  assert.ok(r.ok);
  assert.equal(r.config.watchProgressNotifyMs, 90_000);
  assert.equal(r.config.sseHeartbeatMs, 500);
  const fromEnv = parseConfig([], { ETCD_EXPERIMENTAL_WATCH_PROGRESS_NOTIFY_INTERVAL: "2s" });
  assert.ok(fromEnv.ok);
  assert.equal(fromEnv.config.watchProgressNotifyMs, 2_000);
  assert.equal(fromEnv.config.sseHeartbeatMs, 15_000);
  const defaults = parseConfig([], {});
  assert.ok(defaults.ok);
  assert.equal(defaults.config.watchProgressNotifyMs, 600_000);
  const bad = parseConfig(["--sse-heartbeat-interval", "10"], {});
  assert.deepEqual(bad, { ok: false, error: 'invalid value "10" for flag -sse-heartbeat-interval: parse error' });
});

test("config > --cors and --host-whitelist: same-origin and Concord's hosts by default, etcd's forms, origins as browsers write them", () => {
  const none = parseConfig([], {});
  assert.ok(none.ok);
  assert.deepEqual([none.config.corsOrigins, none.config.hostWhitelist], [[], undefined]);
  const given = parseConfig(["--cors", "http://a.example:80, https://b.example:8443", "--host-whitelist", "example.com,127.0.0.1"], {});
  assert.ok(given.ok);
  assert.deepEqual(given.config.corsOrigins, ["http://a.example", "https://b.example:8443"]);
  assert.deepEqual(given.config.hostWhitelist, ["example.com", "127.0.0.1"]);
  const fromEnv = parseConfig([], { ETCD_CORS: "*", ETCD_HOST_WHITELIST: "*" });
  assert.ok(fromEnv.ok);
  assert.deepEqual([fromEnv.config.corsOrigins, fromEnv.config.hostWhitelist], [["*"], ["*"]]);
  for (const [value, message] of [["good.example", /URL scheme must be http or https: good.example/], ["http://a.example:80/x", /URL must not contain a path/], ["*,http://a.example", /URL scheme/]] as const) {
    const r = parseConfig(["--cors", value], {});
    assert.ok(!r.ok && "error" in r, value);
    assert.match(r.error, message);
    assert.match(r.error, /for flag -cors/);
  }
});

test("config > TLS flags: files, bool flags alone or with a value, from the environment too", () => {
  const r = parseConfig([
    "--listen-client-urls", "https://127.0.0.1:2379", "--cert-file", "c.pem", "--key-file", "k.pem", "--trusted-ca-file", "ca.pem", "--client-cert-auth",
    "--listen-peer-urls", "https://127.0.0.1:2380", "--peer-auto-tls=true", "--name", "n",
  ], {});
  assert.ok(r.ok, !r.ok && "error" in r ? r.error : "");
  assert.deepEqual(r.config.clientTls, { certFile: "c.pem", keyFile: "k.pem", trustedCaFile: "ca.pem", clientCertAuth: true, autoTls: false });
  assert.deepEqual(r.config.peerTls, { certFile: undefined, keyFile: undefined, trustedCaFile: undefined, clientCertAuth: false, autoTls: true });
  assert.equal(r.config.name, "n", "a bool flag took the next argument as its value");
  const env = parseConfig(["--listen-client-urls", "https://127.0.0.1:2379"], { ETCD_AUTO_TLS: "true" });
  assert.ok(env.ok && env.config.clientTls.autoTls);
});

test("config > --auth-token and --auth-token-ttl as etcd reads them, and refused in its words", () => {
  const plain = parseConfig([], {});
  assert.ok(plain.ok);
  assert.deepEqual(plain.config.authToken, { kind: "simple" });
  assert.equal(plain.config.authTokenTtlMs, 300_000);
  const jwt = parseConfig(["--auth-token", "jwt,pub-key=/k.pub,priv-key=/k,sign-method=ES384,ttl=1m30s", "--auth-token-ttl", "7"], {});
  assert.ok(jwt.ok);
  assert.deepEqual(jwt.config.authToken, { kind: "jwt", signMethod: "ES384", ttlMs: 90_000, privateKeyFile: "/k", publicKeyFile: "/k.pub", unknownOptions: [] });
  assert.equal(jwt.config.authTokenTtlMs, 7_000);
  const fromEnv = parseConfig([], { ETCD_AUTH_TOKEN: "jwt,sign-method=HS256,priv-key=/s,color=blue", ETCD_AUTH_TOKEN_TTL: "0" });
  assert.ok(fromEnv.ok);
  assert.deepEqual(fromEnv.config.authToken, { kind: "jwt", signMethod: "HS256", ttlMs: 300_000, privateKeyFile: "/s", unknownOptions: ["color"] });
  assert.equal(fromEnv.config.authTokenTtlMs, 300_000, "0 means etcd's default");
  const refusals: [string[], RegExp][] = [
    [["--auth-token", "bogus"], /unknown token type: bogus: auth: invalid auth options/],
    [["--auth-token", "jwt"], /auth: invalid auth signature method: auth: invalid auth options/],
    [["--auth-token", "jwt,sign-method=RS1"], /auth: invalid auth signature method/],
    [["--auth-token", "jwt,sign-method=RS256,foo"], /invalid token specific option: jwt,sign-method=RS256,foo: auth: invalid auth options/],
    [["--auth-token", "jwt,sign-method=RS256,ttl=1m,ttl=2m"], /duplicated parameters \(ttl\)/],
    [["--auth-token", "jwt,sign-method=RS256,ttl=soon"], /time: invalid duration "soon"/],
    [["--auth-token-ttl", "-1"], /invalid value "-1" for flag -auth-token-ttl/],
  ];
  for (const [argv, expected] of refusals) {
    const r = parseConfig(argv, {});
    assert.ok(!r.ok && "error" in r, argv.join(" "));
    assert.match(r.error, expected, argv.join(" "));
  }
});

test("config > --quota-backend-bytes as etcd reads it: 0 its 2 GiB default, below 0 no quota; past what a snapshot can carry refused", () => {
  const quota = (argv: string[], env: Record<string, string> = {}) => {
    const r = parseConfig(argv, env);
    return r.ok ? r.config.quotaBackendBytes : "error" in r ? r.error : "help";
  };
  assert.equal(quota([]), 2 * 1024 ** 3);
  assert.equal(quota(["--quota-backend-bytes", "0"]), 2 * 1024 ** 3);
  assert.equal(quota(["--quota-backend-bytes=1048576"]), 1048576);
  assert.equal(quota([], { ETCD_QUOTA_BACKEND_BYTES: "4096" }), 4096);
  assert.equal(quota(["--quota-backend-bytes", "-1"]), undefined);
  assert.equal(quota(["--quota-backend-bytes", "abc"]), 'invalid value "abc" for flag -quota-backend-bytes: parse error');
  assert.match(String(quota(["--quota-backend-bytes", "10000000000"])), /above 8589934592 bytes .* could not be sent to a member as a snapshot/);
});

test("config > --auto-compaction-mode and -retention as etcd reads them: hours or revisions, or a duration; refused in etcd's words", () => {
  const compaction = (argv: string[], env: Record<string, string> = {}) => {
    const r = parseConfig(argv, env);
    return r.ok ? r.config.autoCompaction : "error" in r ? r.error : "help";
  };
  assert.equal(compaction([]), undefined);
  assert.equal(compaction(["--auto-compaction-retention", "0"]), undefined);
  assert.deepEqual(compaction(["--auto-compaction-retention", "2"]), { mode: "periodic", retentionMs: 2 * 3_600_000 });
  assert.deepEqual(compaction(["--auto-compaction-retention=90s"]), { mode: "periodic", retentionMs: 90_000 });
  assert.deepEqual(compaction(["--auto-compaction-mode", "revision", "--auto-compaction-retention", "1000"]), { mode: "revision", retentionRevisions: 1000 });
  assert.deepEqual(compaction([], { ETCD_AUTO_COMPACTION_MODE: "revision", ETCD_AUTO_COMPACTION_RETENTION: "10" }), { mode: "revision", retentionRevisions: 10 });
  assert.equal(compaction(["--auto-compaction-mode", "bogus"]), 'unknown auto-compaction-mode "bogus"');
  assert.equal(compaction(["--auto-compaction-retention", "abc"]), 'error parsing CompactionRetention: time: invalid duration "abc"');
  assert.equal(compaction(["--auto-compaction-retention", "-1"]), 'error parsing CompactionRetention: time: missing unit in duration "-1"');
  assert.match(String(compaction(["--auto-compaction-retention", "-5s"])), /must not be negative/);
});

test("config > --strict-reconfig-check is on unless given false, as etcd reads it", () => {
  const strict = (argv: string[], env: Record<string, string> = {}) => {
    const r = parseConfig(argv, env);
    return r.ok ? r.config.strictReconfigCheck : "error" in r ? r.error : "help";
  };
  assert.equal(strict([]), true);
  assert.equal(strict(["--strict-reconfig-check=false"]), false);
  assert.equal(strict(["--strict-reconfig-check"]), true);
  assert.equal(strict([], { ETCD_STRICT_RECONFIG_CHECK: "false" }), false);
  assert.equal(strict(["--strict-reconfig-check=no"]), 'invalid boolean value "no" for flag -strict-reconfig-check: parse error');
});
