/**
 * The client's suite (suite.ts) on whichever runtime runs the tests — Bun and Deno here, Node
 * through node.test.ts — against a real member.
 */
import { after, before, test } from "node:test";
import { freePort, type ServerProcess, startConcord } from "../../testkit/processes.ts";
import { suite, useMember } from "./suite.ts";

let member: ServerProcess;

before(async () => {
  member = await startConcord({ name: "client" });
  useMember(member.url, `http://127.0.0.1:${await freePort()}`);
});

after(async () => {
  await member?.stop();
});

for (const [name, run] of suite) test(`client > ${name}`, run);
