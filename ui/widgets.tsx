/**
 * Small pieces every page uses: the curl line of an action, an error line, a diff, and a
 * confirmation that must be typed.
 *
 * Owns: those pieces. Never: calls the API.
 */
import { useSignal } from "@preact/signals";
import type { ComponentChildren } from "preact";
import { diffLines } from "./diff.ts";

/** A toggle showing the curl command that does what the action does. */
export function Curl({ command }: { command: string }) {
  const open = useSignal(false);
  return (
    <span>
      <button type="button" class="link" onClick={() => (open.value = !open.value)}>curl</button>
      {open.value && <pre data-testid="curl">{command}</pre>}
    </span>
  );
}

export function ErrorLine({ error }: { error: string | undefined }) {
  return error ? <div class="error" role="alert">{error}</div> : null;
}

export function Diff({ before, after }: { before: string; after: string }) {
  return (
    <div class="diff" data-testid="diff">
      {diffLines(before, after).map((l, i) => (
        <div key={i} class={l.kind}>{l.kind === "added" ? "+ " : l.kind === "removed" ? "- " : "  "}{l.text}</div>
      ))}
    </div>
  );
}

/** Runs `onConfirm` only once `expected` has been typed exactly. */
export function TypedConfirm(
  { expected, label, onConfirm, children }: { expected: string; label: string; onConfirm: () => void; children?: ComponentChildren },
) {
  const typed = useSignal("");
  return (
    <div class="banner">
      {children}
      <div class="row">
        <span>Type <code>{expected}</code> to confirm:</span>
        <input data-testid="confirm-input" value={typed.value} onInput={(e) => (typed.value = (e.target as HTMLInputElement).value)} />
        <button type="button" class="danger" disabled={typed.value !== expected} onClick={onConfirm}>{label}</button>
      </div>
    </div>
  );
}
