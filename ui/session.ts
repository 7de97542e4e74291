/**
 * Who the console is logged in as, when the cluster has auth on: a token kept for this tab only
 * (sessionStorage: closing the tab logs out, another tab logs in on its own), whether the server
 * asked for a login, logging in and out.
 *
 * Owns: the token and the login state. Never: renders, or calls anything but authenticate.
 */
import { signal } from "@preact/signals";
import { Client } from "../client/mod.ts";

const KEY = "concord-token";

/** The token every call sends, if logged in. */
export const token = signal<string | undefined>(sessionStorage.getItem(KEY) ?? undefined);
/** The user logged in as, for the header. */
export const user = signal<string | undefined>(sessionStorage.getItem(`${KEY}-user`) ?? undefined);
/** Set when a call was refused for want of a login (no token, or one the cluster forgot). */
export const loginNeeded = signal(false);

/** etcd's refusals that mean "log in": no user given, a token no member knows, or a signed token older than the last change of users or roles. */
export function asksForLogin(code: number, message: string): boolean {
  const INVALID_ARGUMENT = 3;
  const UNAUTHENTICATED = 16;
  return (code === INVALID_ARGUMENT && message === "etcdserver: user name is empty") || (code === UNAUTHENTICATED && message === "etcdserver: invalid auth token") ||
    (code === INVALID_ARGUMENT && message === "etcdserver: revision of auth store is old");
}

/** Logs in; answers etcd's error text when refused. */
export async function logIn(name: string, password: string): Promise<string | undefined> {
  const client = new Client({ endpoints: [location.origin] });
  try {
    await client.authenticate(name, password);
  } catch (e) {
    return (e as Error).message;
  }
  const given = client.token!;
  sessionStorage.setItem(KEY, given);
  sessionStorage.setItem(`${KEY}-user`, name);
  token.value = given;
  user.value = name;
  loginNeeded.value = false;
  return undefined;
}

export function logOut(): void {
  sessionStorage.removeItem(KEY);
  sessionStorage.removeItem(`${KEY}-user`);
  token.value = undefined;
  user.value = undefined;
  loginNeeded.value = true;
}
