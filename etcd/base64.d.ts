// Uint8Array base64 methods (TC39, shipped in Bun and Deno) that this TypeScript's lib lacks.
interface Uint8Array {
  toBase64(options?: { alphabet?: "base64" | "base64url"; omitPadding?: boolean }): string;
}
interface Uint8ArrayConstructor {
  fromBase64(s: string, options?: { alphabet?: "base64" | "base64url"; lastChunkHandling?: "loose" | "strict" | "stop-before-partial" }): Uint8Array;
}
