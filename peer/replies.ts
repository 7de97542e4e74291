/**
 * The peer port's plain answers: refusals and malformed requests, as text a person can read in a log.
 *
 * Owns: their status codes and wording. Never: decides when to refuse.
 */
export const text = (body: string, status: number) => new Response(body, { status, headers: { "content-type": "text/plain; charset=utf-8" } });
export const json = (body: unknown) => new Response(JSON.stringify(body), { headers: { "content-type": "application/json" } });
export const badRequest = (why: string) => text(`concord: ${why}\n`, 400);
export const refusal = () => text("concord: request refused: it does not prove it holds this cluster's token, addressed to this member\n", 403);
