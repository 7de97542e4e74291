/**
 * The login page, shown when the cluster has auth on and the console has no token (or one the
 * cluster forgot): a user name and password, etcd's words when refused.
 *
 * Owns: the form. Never: keeps the token (session.ts does).
 */
import { signal } from "@preact/signals";
import { logIn } from "./session.ts";

const refusal = signal<string | undefined>(undefined);
const busy = signal(false);

export function LoginPage() {
  const submit = async (e: Event) => {
    e.preventDefault();
    const form = new FormData(e.currentTarget as HTMLFormElement);
    busy.value = true;
    refusal.value = await logIn(String(form.get("name") ?? ""), String(form.get("password") ?? ""));
    busy.value = false;
  };
  return (
    <section data-testid="login">
      <h2>Log in</h2>
      <p class="muted">This cluster has authentication on.</p>
      <form onSubmit={submit}>
        <label>User <input name="name" autocomplete="username" required /></label>
        <label>Password <input name="password" type="password" autocomplete="current-password" /></label>
        <button type="submit" disabled={busy.value}>log in</button>
      </form>
      {refusal.value && <p class="error" data-testid="login-error">{refusal.value}</p>}
    </section>
  );
}
